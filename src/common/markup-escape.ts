/**
 * Text into HTML or XML (SVG), the one copy: & < > " ' become entities every HTML and XML parser
 * reads, in element content and in quoted attributes. null and undefined give "".
 */
export function escapeMarkup(value: unknown): string {
  return String(value ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
