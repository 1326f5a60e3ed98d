import { escapeMarkup } from "../common/index.ts";

/*
 * The one set of self-contained SVG charts for reports and web pages (no script, no external fonts
 * or styles): grouped bars with 95 % CI whiskers, x–y plots (lines, steps, markers, error bars,
 * shaded bands) and span timelines.
 * Data marks carry classes (bar, whisker, series, point, span) so tests can find them.
 */

export const PALETTE = ["#2858c9", "#d9731a", "#0a8a4a", "#b8336a", "#7a4bd6", "#5d6b7a", "#c9a228", "#1a9bb0"];

export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The frame of a chart with a y axis (bars, x–y plots): 760×300 unless given. */
function axesFrame(size: { width?: number; height?: number }, bottom: number): Frame {
  return { width: size.width ?? 760, height: size.height ?? 300, left: 56, right: 16, top: 30, bottom };
}

function plotWidth(frame: Frame): number {
  return frame.width - frame.left - frame.right;
}

function plotHeight(frame: Frame): number {
  return frame.height - frame.top - frame.bottom;
}

/** y value → SVG y inside the plot, clamped to [yMin, yMax]. */
function yScale(frame: Frame, yMin: number, yMax: number): (y: number) => number {
  const plotH = plotHeight(frame);
  return (y) => frame.top + (1 - (Math.min(Math.max(y, yMin), yMax) - yMin) / (yMax - yMin || 1)) * plotH;
}

function open(title: string, frame: Frame): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${frame.width} ${frame.height}" width="${frame.width}" height="${frame.height}" role="img" aria-label="${escapeMarkup(title)}" font-family="DejaVu Sans,Liberation Sans,Arial,sans-serif" font-size="11">`,
    `<rect width="${frame.width}" height="${frame.height}" fill="#ffffff"/>`,
    `<text x="${frame.left}" y="17" font-size="13" font-weight="bold">${escapeMarkup(title)}</text>`,
  ];
}

function yAxis(
  parts: string[],
  frame: Frame,
  yMin: number,
  yMax: number,
  label: string,
  sy: (y: number) => number,
): void {
  for (const t of niceTicks(yMin, yMax)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${frame.left}" x2="${frame.width - frame.right}" y1="${y}" y2="${y}" stroke="#e3e6ea"/>`);
    parts.push(`<text x="${frame.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${t}</text>`);
  }
  parts.push(
    `<text transform="translate(14 ${(frame.top + frame.height - frame.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeMarkup(label)}</text>`,
  );
  parts.push(
    `<rect x="${frame.left}" y="${frame.top}" width="${plotWidth(frame)}" height="${plotHeight(frame)}" fill="none" stroke="#9aa3ad"/>`,
  );
}

function legend(parts: string[], frame: Frame, items: ReadonlyArray<{ name: string; color: string }>): void {
  let x = frame.width - frame.right;
  for (const item of [...items].reverse()) {
    const w = 16 + item.name.length * 6.8;
    x -= w + 10;
    parts.push(`<rect x="${x.toFixed(1)}" y="8" width="10" height="10" fill="${item.color}"/>`);
    parts.push(`<text x="${(x + 14).toFixed(1)}" y="17">${escapeMarkup(item.name)}</text>`);
  }
}

export interface BarGroup {
  name: string;
  color?: string;
  values: ReadonlyArray<number | null>;
  /** Half-widths of the 95 % CI, drawn as whiskers. */
  ci?: ReadonlyArray<number | null>;
}

/** Grouped bars per category with CI whiskers (e.g. MOS per condition, one bar per method). */
export function barChart(options: {
  title: string;
  yLabel: string;
  categories: readonly string[];
  groups: readonly BarGroup[];
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
}): string {
  const frame = axesFrame(options, 54);
  const values = options.groups.flatMap((g, gi) =>
    g.values.map((v, i) => (v === null ? null : v + (g.ci?.[i] ?? 0) * (gi >= 0 ? 1 : 0))),
  );
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const yMin = options.yMin ?? Math.min(0, ...present);
  const yMax = options.yMax ?? (present.length ? Math.max(...present) * 1.05 : 1);
  const sy = yScale(frame, yMin, yMax);
  const parts = open(options.title, frame);
  yAxis(parts, frame, yMin, yMax, options.yLabel, sy);
  const plotW = plotWidth(frame);
  const groups = options.groups.map((g, i) => ({ ...g, color: g.color ?? PALETTE[i % PALETTE.length]! }));
  const slot = plotW / Math.max(1, options.categories.length);
  const barW = Math.min(42, (slot * 0.8) / Math.max(1, groups.length));
  options.categories.forEach((category, ci) => {
    const center = frame.left + slot * (ci + 0.5);
    groups.forEach((g, gi) => {
      const v = g.values[ci];
      const x = center - (barW * groups.length) / 2 + gi * barW;
      if (v === null || v === undefined || !Number.isFinite(v)) {
        parts.push(
          `<text x="${(x + barW / 2).toFixed(1)}" y="${(sy(yMin) - 4).toFixed(1)}" text-anchor="middle" fill="#9aa3ad">–</text>`,
        );
        return;
      }
      const y = sy(v);
      parts.push(
        `<rect class="bar" x="${(x + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${Math.max(0, sy(yMin) - y).toFixed(1)}" fill="${g.color}"><title>${escapeMarkup(`${g.name} · ${category}: ${v.toFixed(3)}`)}</title></rect>`,
      );
      const half = g.ci?.[ci];
      if (half !== null && half !== undefined && Number.isFinite(half) && half > 0) {
        const cx = (x + barW / 2).toFixed(1);
        const y1 = sy(v - half).toFixed(1);
        const y2 = sy(v + half).toFixed(1);
        parts.push(
          `<path class="whisker" d="M${cx},${y1}V${y2}M${(x + barW / 2 - 5).toFixed(1)},${y1}h10M${(x + barW / 2 - 5).toFixed(1)},${y2}h10" stroke="#1d2330" stroke-width="1.4" fill="none"/>`,
        );
      }
    });
    parts.push(
      `<text x="${center.toFixed(1)}" y="${frame.height - frame.bottom + 15}" text-anchor="middle">${escapeMarkup(category)}</text>`,
    );
  });
  legend(parts, frame, groups);
  parts.push("</svg>");
  return parts.join("");
}

export interface XySeries {
  name: string;
  color?: string;
  /** [x, y] or [x, y, ci half-width]. */
  points: ReadonlyArray<readonly [number, number] | readonly [number, number, number | null]>;
  /** Connect the points (default true); a step draws values holding until the next point. */
  line?: boolean;
  step?: boolean;
  markers?: boolean;
}

/** An x–y plot: lines, markers and error bars (e.g. MOS against loss rate, throughput over time). */
export function xyChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly XySeries[];
  bands?: ReadonlyArray<{ from: number; to: number; color: string; label?: string }>;
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
}): string {
  const frame = axesFrame(options, 42);
  const all = options.series.flatMap((s) => s.points);
  // A band (a stall) may lie past the last point: the x axis shows it whole.
  const xs = all.map((p) => p[0]).concat((options.bands ?? []).flatMap((b) => [b.from, b.to]));
  const ys = all.flatMap((p) => [p[1] + (p[2] ?? 0), p[1] - (p[2] ?? 0)]);
  const xMin = options.xMin ?? (xs.length ? Math.min(...xs) : 0);
  const xMax = options.xMax ?? (xs.length ? Math.max(...xs) : 1);
  const yMin = options.yMin ?? (ys.length ? Math.min(0, ...ys) : 0);
  const yMax = options.yMax ?? (ys.length ? Math.max(...ys) * 1.05 || 1 : 1);
  const plotW = plotWidth(frame);
  const plotH = plotHeight(frame);
  const sx = (x: number) => frame.left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
  const sy = yScale(frame, yMin, yMax);
  const parts = open(options.title, frame);
  for (const band of options.bands ?? []) {
    parts.push(
      `<rect class="band" x="${sx(band.from).toFixed(1)}" y="${frame.top}" width="${Math.max(1, sx(band.to) - sx(band.from)).toFixed(1)}" height="${plotH}" fill="${band.color}" opacity="0.3"><title>${escapeMarkup(band.label ?? "")}</title></rect>`,
    );
  }
  yAxis(parts, frame, yMin, yMax, options.yLabel, sy);
  for (const t of niceTicks(xMin, xMax, 8)) {
    parts.push(
      `<text x="${sx(t).toFixed(1)}" y="${frame.height - frame.bottom + 14}" text-anchor="middle">${t}</text>`,
    );
  }
  parts.push(
    `<text x="${(frame.left + frame.width - frame.right) / 2}" y="${frame.height - 6}" text-anchor="middle">${escapeMarkup(options.xLabel)}</text>`,
  );
  const series = options.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length]! }));
  for (const s of series) {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length === 0) continue;
    if (s.line !== false && pts.length > 1) {
      let d = "";
      pts.forEach((p, j) => {
        const x = sx(p[0]).toFixed(1);
        const y = sy(p[1]).toFixed(1);
        if (j === 0) d += `M${x},${y}`;
        else if (s.step) d += `H${x}V${y}`;
        else d += `L${x},${y}`;
      });
      parts.push(`<path class="series" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    }
    for (const p of pts) {
      const half = p[2];
      const x = sx(p[0]);
      if (half !== null && half !== undefined && half > 0) {
        parts.push(
          `<path class="whisker" d="M${x.toFixed(1)},${sy(p[1] - half).toFixed(1)}V${sy(p[1] + half).toFixed(1)}M${(x - 4).toFixed(1)},${sy(p[1] - half).toFixed(1)}h8M${(x - 4).toFixed(1)},${sy(p[1] + half).toFixed(1)}h8" stroke="${s.color}" stroke-width="1.3" fill="none"/>`,
        );
      }
      if (s.markers !== false && (pts.length <= 60 || s.line === false)) {
        parts.push(
          `<circle class="point" cx="${x.toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3.5" fill="${s.color}"><title>${escapeMarkup(`${s.name}: (${p[0]}, ${p[1].toFixed(3)})`)}</title></circle>`,
        );
      }
    }
  }
  legend(parts, frame, series);
  parts.push("</svg>");
  return parts.join("");
}

export interface TimelineRow {
  label: string;
  /** Length of the row's time axis (e.g. session duration). */
  end: number;
  spans: ReadonlyArray<{ from: number; to: number; label?: string }>;
}

/** One horizontal bar per row with shaded spans (e.g. stalls per session). */
export function timelineChart(options: {
  title: string;
  xLabel: string;
  rows: readonly TimelineRow[];
  color?: string;
  width?: number;
}): string {
  const rowH = 18;
  const frame: Frame = {
    width: options.width ?? 760,
    height: 30 + 40 + Math.max(1, options.rows.length) * rowH,
    left: 150,
    right: 16,
    top: 30,
    bottom: 40,
  };
  const xMax = Math.max(1, ...options.rows.map((r) => Math.max(r.end, ...r.spans.map((s) => s.to))));
  const plotW = plotWidth(frame);
  const sx = (x: number) => frame.left + (x / xMax) * plotW;
  const parts = open(options.title, frame);
  options.rows.forEach((row, i) => {
    const y = frame.top + i * rowH;
    parts.push(
      `<text x="${frame.left - 6}" y="${y + rowH / 2}" text-anchor="end" dominant-baseline="middle">${escapeMarkup(row.label)}</text>`,
    );
    parts.push(
      `<rect x="${frame.left}" y="${y + 3}" width="${(sx(row.end) - frame.left).toFixed(1)}" height="${rowH - 6}" fill="#dfe7f5"/>`,
    );
    for (const span of row.spans) {
      parts.push(
        `<rect class="span" x="${sx(span.from).toFixed(1)}" y="${y + 3}" width="${Math.max(1.5, sx(span.to) - sx(span.from)).toFixed(1)}" height="${rowH - 6}" fill="${options.color ?? "#d33"}"><title>${escapeMarkup(span.label ?? "")}</title></rect>`,
      );
    }
  });
  const axisY = frame.top + options.rows.length * rowH + 4;
  for (const t of niceTicks(0, xMax, 8)) {
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${axisY + 12}" text-anchor="middle">${t}</text>`);
  }
  parts.push(
    `<text x="${(frame.left + frame.width - frame.right) / 2}" y="${axisY + 30}" text-anchor="middle">${escapeMarkup(options.xLabel)}</text>`,
  );
  parts.push("</svg>");
  return parts.join("");
}
