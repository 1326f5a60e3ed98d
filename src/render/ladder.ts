import { escapeMarkup } from "../common/index.ts";
import type { SipLadder } from "../voip/index.ts";

/*
 * Ladder (flow) diagrams of SIP calls from voip's `sipLadder`: one column per endpoint, one row per
 * message with an arrow from sender to receiver, time on the left.
 */

/** Plain-text ladder: fixed-width columns, `----label--->` or `<---label----` arrows. */
export function ladderText(ladder: SipLadder): string {
  const { events, endpoints: cols } = ladder;
  const labelWidth = Math.max(12, ...events.map((e) => e.label.length + 10));
  const colWidth = Math.max(labelWidth, ...cols.map((c) => c.length + 2));
  const timeWidth = 12;
  const centre = (i: number) => timeWidth + i * colWidth + Math.floor(colWidth / 2);
  const width = timeWidth + cols.length * colWidth;
  const lines: string[] = [];
  const header = new Array(width).fill(" ");
  cols.forEach((c, i) => {
    const start = Math.max(0, centre(i) - Math.floor(c.length / 2));
    for (let k = 0; k < c.length; k++) header[start + k] = c[k]!;
  });
  lines.push(header.join("").trimEnd());
  for (const e of events) {
    const row = new Array(width).fill(" ");
    cols.forEach((_, i) => {
      row[centre(i)] = "|";
    });
    const a = centre(cols.indexOf(e.src));
    const b = centre(cols.indexOf(e.dst));
    const [lo, hi] = a < b ? [a, b] : [b, a];
    for (let k = lo + 1; k < hi; k++) row[k] = "-";
    if (a < b) row[hi - 1] = ">";
    else row[lo + 1] = "<";
    const text = e.label;
    const start = lo + 2 + Math.max(0, Math.floor((hi - lo - 3 - text.length) / 2));
    for (let k = 0; k < text.length && start + k < hi - 1; k++) row[start + k] = text[k]!;
    const t = e.time.toFixed(6).padStart(timeWidth - 2);
    for (let k = 0; k < t.length; k++) row[k] = t[k]!;
    lines.push(row.join("").trimEnd());
  }
  return `${lines.join("\n")}\n`;
}

/** Standalone SVG ladder (no scripts, no external resources). */
export function ladderSvg(ladder: SipLadder): string {
  const { events, endpoints: cols } = ladder;
  const colWidth = 220;
  const left = 110;
  const top = 50;
  const rowHeight = 32;
  const width = left + cols.length * colWidth;
  const height = top + (events.length + 1) * rowHeight;
  const x = (i: number) => left + i * colWidth + colWidth / 2;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="12">`,
    '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="10" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#222"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  cols.forEach((c, i) => {
    parts.push(`<text x="${x(i)}" y="${top - 20}" text-anchor="middle" font-weight="bold">${escapeMarkup(c)}</text>`);
    parts.push(
      `<line x1="${x(i)}" y1="${top - 10}" x2="${x(i)}" y2="${height - 10}" stroke="#999" stroke-dasharray="4 3"/>`,
    );
  });
  events.forEach((e, k) => {
    const y = top + (k + 1) * rowHeight;
    const a = x(cols.indexOf(e.src));
    const b = x(cols.indexOf(e.dst));
    const colour = e.request ? "#1f4e9c" : "#1c7a3a";
    parts.push(`<text x="8" y="${y + 4}" fill="#555">${e.time.toFixed(6)}</text>`);
    parts.push(
      `<line x1="${a}" y1="${y}" x2="${b}" y2="${y}" stroke="${colour}" stroke-width="1.5" marker-end="url(#arrow)"/>`,
    );
    parts.push(
      `<text x="${(a + b) / 2}" y="${y - 5}" text-anchor="middle" fill="${colour}">${escapeMarkup(e.label)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
