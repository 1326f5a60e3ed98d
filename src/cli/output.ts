/** Printing helpers shared by every command: aligned tables, JSON, CSV/TSV. */

export type Cell = string | number | boolean | null | undefined;

function cellText(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return String(value);
}

/** Renders rows as an aligned text table; numbers are right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const widths = headers.map((h) => h.length);
  const texts = rows.map((row) => row.map(cellText));
  for (const row of texts) {
    row.forEach((text, i) => {
      widths[i] = Math.max(widths[i] ?? 0, text.length);
    });
  }
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number" || r[i] == null));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...texts.map(line)].join("\n");
}

function quoteDelimited(text: string, delimiter: string): string {
  if (text.includes(delimiter) || text.includes('"') || text.includes("\n") || text.includes("\r")) {
    return `"${text.replaceAll('"', '""')}"`;
  }
  return text;
}

/** CSV (RFC 4180 quoting) or TSV text with a header line. */
export function formatDelimited(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  delimiter = ",",
): string {
  const out = [headers.map((h) => quoteDelimited(h, delimiter)).join(delimiter)];
  for (const row of rows) {
    out.push(
      row.map((v) => (v === null || v === undefined ? "" : quoteDelimited(String(v), delimiter))).join(delimiter),
    );
  }
  return `${out.join("\n")}\n`;
}

/** One line of a result printed as fields: its name and its value. */
export type FieldRow = readonly [string, Cell];

/** A result as an aligned two-column table of fields under `heading` (the command, or "field") and "value". */
export function printFields(heading: string, rows: readonly FieldRow[]): void {
  process.stdout.write(`${formatTable([heading, "value"], rows)}\n`);
}

/** A progress bar of 30 columns for stderr, `#` for the `fraction` done: "[#########---------------------]". */
export function progressBarText(fraction: number): string {
  const width = 30;
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
