import { escapeHtml } from "./html.ts";

export interface Series {
  name: string;
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Draw as steps (values hold until the next point), e.g. resolution. */
  step?: boolean;
}

export interface Band {
  from: number;
  to: number;
  color: string;
  label?: string;
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** A self-contained SVG line chart (no script), for pages and reports. */
export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  bands?: readonly Band[];
  width?: number;
  height?: number;
  yMin?: number;
}): string {
  const width = options.width ?? 720;
  const height = options.height ?? 260;
  const left = 60;
  const right = 16;
  const top = 28;
  const bottom = 40;
  const all = options.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]).concat((options.bands ?? []).flatMap((b) => [b.from, b.to]));
  const ys = all.map((p) => p[1]);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const yMin = options.yMin ?? (ys.length ? Math.min(0, ...ys) : 0);
  const yMaxRaw = ys.length ? Math.max(...ys) : 1;
  const yMax = yMaxRaw > yMin ? yMaxRaw * 1.05 : yMin + 1;
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin || 1)) * (width - left - right);
  const sy = (y: number) => top + (1 - (y - yMin) / (yMax - yMin)) * (height - top - bottom);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}" font-family="system-ui,sans-serif" font-size="11">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="16" font-size="13" font-weight="600">${escapeHtml(options.title)}</text>`);
  for (const band of options.bands ?? []) {
    parts.push(
      `<rect class="band" x="${sx(band.from).toFixed(1)}" y="${top}" width="${Math.max(1, sx(band.to) - sx(band.from)).toFixed(1)}" height="${height - top - bottom}" fill="${band.color}" opacity="0.35"><title>${escapeHtml(band.label ?? "")}</title></rect>`,
    );
  }
  for (const t of niceTicks(yMin, yMax)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#e3e6ea"/>`);
    parts.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${t}</text>`);
  }
  for (const t of niceTicks(xMin, xMax, 8)) {
    const x = sx(t).toFixed(1);
    parts.push(`<text x="${x}" y="${height - bottom + 14}" text-anchor="middle">${t}</text>`);
  }
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(options.yLabel)}</text>`,
  );
  parts.push(
    `<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="none" stroke="#9aa3ad"/>`,
  );
  options.series.forEach((series, i) => {
    if (series.points.length === 0) return;
    let d = "";
    series.points.forEach(([x, y], j) => {
      if (j === 0) d += `M${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      else if (series.step) {
        const prev = series.points[j - 1]!;
        d += `L${sx(x).toFixed(1)},${sy(prev[1]).toFixed(1)}L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      } else d += `L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
    });
    parts.push(`<path class="series" d="${d}" fill="none" stroke="${series.color}" stroke-width="1.8"/>`);
    parts.push(
      `<text x="${width - right - 4}" y="${top + 14 + i * 14}" text-anchor="end" fill="${series.color}">${escapeHtml(series.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}
