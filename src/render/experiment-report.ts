import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { escapeMarkup } from "../common/index.ts";
import type { ConditionSummary } from "../quality/listening/index.ts";
import {
  type ExperimentEmodel,
  type ExperimentFile,
  type ExperimentReportData,
  readExperimentReportData,
  type TrainingExport,
} from "../quality/report/index.ts";
import { barChart, timelineChart, xyChart } from "./svg-charts.ts";

export interface ReportFigure {
  /** File stem: `figures/<name>.svg` and `.png`. */
  name: string;
  title: string;
  svg: string;
}

export interface ExperimentReport {
  title: string;
  html: string;
  figures: ReportFigure[];
}

function fmt(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

/** "PESQ P.862.1 MOS-LQO" or "PESQ P.862.2 MOS-LQO", from the versions the scores carry. */
function pesqName(experiment: ExperimentFile): string {
  const versions = experiment.conditions.map((c) => c.pesq?.version).filter((v) => v !== undefined);
  return versions.length > 0 && versions.every((v) => v.includes("P.862.2"))
    ? "PESQ P.862.2 MOS-LQO"
    : "PESQ P.862.1 MOS-LQO";
}

/** The PESQ versions (and conformance) the scores state, for the table header's title. */
function pesqVersions(experiment: ExperimentFile): string {
  return [...new Set(experiment.conditions.map((c) => c.pesq?.version).filter((v) => v !== undefined))].join("; ");
}

/** "E-model MOS (PLC off)": the series name carries the assumption when every condition shares one. */
/** The loss-concealment assumption in two words; a folder written before it was recorded says so. */
function plcLabel(emodel: ExperimentEmodel): string {
  if (emodel.plc === undefined) return "assumption not recorded";
  return emodel.plc ? "PLC on" : "PLC off";
}

function emodelName(experiment: ExperimentFile): string {
  const kinds = new Set(experiment.conditions.flatMap((c) => (c.emodel ? [plcLabel(c.emodel)] : [])));
  if (kinds.size === 0) return "E-model MOS";
  return `E-model MOS (${kinds.size === 1 ? [...kinds][0] : "assumption per condition: see the table"})`;
}

/** An E-model value with its assumption beside it. */
function emodelCell(value: number | undefined, digits: number, emodel: ExperimentEmodel | null | undefined): string {
  const text = fmt(value, digits);
  if (value === undefined || !emodel) return text;
  const label = plcLabel(emodel);
  return `${text} <span class="note" title="${escapeMarkup(emodel.assumption ?? label)}">(${label})</span>`;
}

function voipFigures(experiment: ExperimentFile, listening: Map<string, ConditionSummary>): ReportFigure[] {
  const conditions = experiment.conditions;
  const labels = conditions.map((c) => c.label ?? c.id);
  const figures: ReportFigure[] = [];
  const listeningValues = conditions.map((c) => listening.get(c.id) ?? null);
  figures.push({
    name: "mos-by-condition",
    title: "MOS per condition: PESQ, E-model and listening test",
    svg: barChart({
      title: "MOS per condition (listening test with 95 % CI)",
      yLabel: "MOS",
      categories: labels,
      yMin: 0,
      yMax: 5,
      groups: [
        { name: pesqName(experiment), values: conditions.map((c) => c.pesq?.mosLqo ?? null) },
        { name: emodelName(experiment), values: conditions.map((c) => c.emodel?.mos ?? null) },
        {
          name: "listening MOS",
          values: listeningValues.map((l) => l?.mos ?? null),
          ci: listeningValues.map((l) => l?.ci95 ?? null),
        },
      ],
    }),
  });
  const point = (x: number, y: number | null | undefined, ci?: number | null) =>
    y === null || y === undefined || !Number.isFinite(y) ? [] : [[x, y, ci ?? null] as const];
  figures.push({
    name: "mos-vs-loss",
    title: "MOS against packet loss",
    svg: xyChart({
      title: "MOS against packet loss rate",
      xLabel: "packet loss (%)",
      yLabel: "MOS",
      yMin: 1,
      yMax: 5,
      series: [
        { name: pesqName(experiment), points: conditions.flatMap((c) => point(c.lossPercent, c.pesq?.mosLqo)) },
        { name: emodelName(experiment), points: conditions.flatMap((c) => point(c.lossPercent, c.emodel?.mos)) },
        {
          name: "listening MOS",
          points: conditions.flatMap((c) => point(c.lossPercent, listening.get(c.id)?.mos, listening.get(c.id)?.ci95)),
        },
      ],
    }),
  });
  const directions = [
    ...new Set(conditions.flatMap((c) => (c.streams ?? []).map((s, i) => s.direction ?? `stream ${i + 1}`))),
  ];
  if (directions.length > 0) {
    const streamValue = (
      direction: string,
      pick: (s: NonNullable<ExperimentFile["conditions"][number]["streams"]>[number]) => number,
    ) =>
      conditions.map((c) => {
        const s = (c.streams ?? []).find((st, i) => (st.direction ?? `stream ${i + 1}`) === direction);
        return s ? pick(s) : null;
      });
    figures.push({
      name: "rtp-loss",
      title: "RTP loss per stream",
      svg: barChart({
        title: "RTP packet loss per stream",
        yLabel: "lost (%)",
        categories: labels,
        groups: directions.map((d) => ({ name: d, values: streamValue(d, (s) => s.lostPercent) })),
      }),
    });
    figures.push({
      name: "rtp-jitter",
      title: "RTP jitter per stream",
      svg: barChart({
        title: "RTP jitter per stream (RFC 3550): mean and max",
        yLabel: "jitter (ms)",
        categories: labels,
        groups: directions.flatMap((d) => [
          { name: `${d} mean`, values: streamValue(d, (s) => s.meanJitterMs) },
          { name: `${d} max`, values: streamValue(d, (s) => s.maxJitterMs) },
        ]),
      }),
    });
  }
  return figures;
}

function trainingFigures(training: TrainingExport): ReportFigure[] {
  const sessions = training.sessions;
  const figures: ReportFigure[] = [];
  const withSeries = sessions.filter((s) => s.network_data?.series?.bytes?.length).slice(0, 8);
  figures.push({
    name: "video-throughput",
    title: "Throughput over time",
    svg: xyChart({
      title: "Downstream throughput over time (per session)",
      xLabel: "time (s)",
      yLabel: "Mbit/s",
      series: withSeries.map((s) => {
        const w = s.network_data!.series!.window ?? 1;
        return {
          name: `${s.name} (${s.bw_limitation} Mbit/s)`,
          markers: false,
          points: s.network_data!.series!.bytes!.map((b, i) => [i * w, (b * 8) / w / 1e6] as const),
        };
      }),
    }),
  });
  figures.push({
    name: "video-stalls",
    title: "Stall timelines",
    svg: timelineChart({
      title: "Stalls per session (red)",
      xLabel: "time since recording start (s)",
      rows: sessions.map((s) => ({
        label: `${s.name} · ${s.bw_limitation} Mbit/s`,
        end: s.application_data?.duration ?? training.training.session_duration ?? 0,
        spans: (s.application_data?.stalls ?? []).map((st) => ({
          from: st.start,
          to: st.start + st.duration,
          label: `stall ${st.duration.toFixed(2)} s`,
        })),
      })),
    }),
  });
  const heightOf = (s: TrainingExport["sessions"][number]) => {
    if (s.labels?.time_weighted_height !== undefined) return s.labels.time_weighted_height;
    const hs = (s.application_data?.samples ?? [])
      .map((x) => x.height)
      .filter((h): h is number => typeof h === "number");
    return hs.length ? hs.reduce((a, b) => a + b, 0) / hs.length : null;
  };
  const points = sessions.flatMap((s) => {
    const h = heightOf(s);
    return h === null ? [] : [[s.bw_limitation, h] as const];
  });
  const byBandwidth = new Map<number, number[]>();
  for (const [bw, h] of points) byBandwidth.set(bw, [...(byBandwidth.get(bw) ?? []), h]);
  figures.push({
    name: "video-resolution",
    title: "Resolution by bandwidth",
    svg: xyChart({
      title: "Video resolution by bandwidth limit",
      xLabel: "bandwidth limit (Mbit/s)",
      yLabel: "time-weighted height (lines)",
      yMin: 0,
      series: [
        { name: "sessions", line: false, points },
        {
          name: "mean",
          points: [...byBandwidth].map(([bw, hs]) => [bw, hs.reduce((a, b) => a + b, 0) / hs.length] as const),
          markers: false,
        },
      ],
    }),
  });
  return figures;
}

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1rem;color:#1d2330}
table{border-collapse:collapse;margin:.6rem 0 1.2rem}th,td{padding:.3rem .6rem;border-bottom:1px solid #e3e6ea;text-align:left}
th{background:#eef0f3}td.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1rem 0}figcaption{color:#556;font-size:.9em}
.note{color:#556}`;

/** Draws the self-contained HTML report of an experiment folder's data (figures inline as SVG). */
export function experimentReport(data: ExperimentReportData): ExperimentReport {
  const { folder, training, listening } = data;
  const listeningByCondition = new Map((listening?.screened.conditions ?? []).map((c) => [c.condition, c]));
  const figures: ReportFigure[] = [];
  const sections: string[] = [];
  const title = folder
    ? `VoIP experiment ${folder.dir.split("/").pop()}`
    : `Video training ${training?.training.name ?? ""}`;
  if (folder) {
    const e = folder.experiment;
    const voip = voipFigures(e, listeningByCondition);
    figures.push(...voip);
    const rows = e.conditions
      .map((c) => {
        const l = listeningByCondition.get(c.id);
        const s = c.streams?.[0];
        return `<tr><td>${escapeMarkup(c.label ?? c.id)}</td><td class="num">${fmt(c.lossPercent, 2)}</td><td class="num">${fmt(c.delayMs ?? null, 0)}</td><td class="num">${fmt(c.pesq?.mosLqo)}</td><td class="num">${emodelCell(c.emodel?.R, 1, c.emodel)}</td><td class="num">${emodelCell(c.emodel?.mos, 2, c.emodel)}</td><td class="num">${l ? `${fmt(l.mos)} ± ${fmt(l.ci95)} (n=${l.n})` : "–"}</td><td class="num">${s ? `${s.lost}/${s.expected ?? s.packets + s.lost}` : "–"}</td><td class="num">${fmt(s?.meanJitterMs)}</td></tr>`;
      })
      .join("");
    sections.push(`<h2>Conditions</h2><p class="note">Reference ${escapeMarkup(e.reference)}${e.referenceDescription ? ` (${escapeMarkup(e.referenceDescription)}): every condition is scored against it` : ""}; codec ${escapeMarkup(e.codec ?? "?")}; ${escapeMarkup(e.tool ?? "")}${e.createdAt ? `; ${escapeMarkup(e.createdAt)}` : ""}.</p>
<table id="conditions"><tr><th>Condition</th><th>loss %</th><th>delay ms</th><th title="${escapeMarkup(pesqVersions(e))}">${escapeMarkup(pesqName(e))}</th><th>E-model R</th><th>E-model MOS</th><th>listening MOS ± 95 % CI</th><th>RTP lost (first stream)</th><th>mean jitter ms</th></tr>${rows}</table>`);
    for (const f of voip)
      sections.push(
        `<figure id="fig-${f.name}">${f.svg}<figcaption>${escapeMarkup(f.title)} (figures/${f.name}.svg, .png)</figcaption></figure>`,
      );
    if (listening) {
      sections.push(`<h2>Listening test</h2><p class="note">${listening.all.raters} raters, ${listening.screened.raters} after screening. Rules: ${escapeMarkup(listening.rules.join("; "))}.</p>
<table id="raters"><tr><th>Rater</th><th>rated</th><th>r</th><th>screening</th></tr>${listening.raters
        .map(
          (r) =>
            `<tr><td>${escapeMarkup(r.rater)}</td><td class="num">${r.rated}</td><td class="num">${fmt(r.correlation, 3)}</td><td>${r.excluded ? `excluded: ${escapeMarkup(r.reasons.join("; "))}` : "kept"}</td></tr>`,
        )
        .join("")}</table>`);
    } else sections.push(`<p class="note">No listening-test ratings (ratings.csv) in this folder yet.</p>`);
  }
  if (training) {
    const video = trainingFigures(training);
    figures.push(...video);
    sections.push(
      `<h2>Video training ${escapeMarkup(training.training.name)} (${training.sessions.length} sessions)</h2>`,
    );
    for (const f of video)
      sections.push(
        `<figure id="fig-${f.name}">${f.svg}<figcaption>${escapeMarkup(f.title)} (figures/${f.name}.svg, .png)</figcaption></figure>`,
      );
  }
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeMarkup(title)} · qoelab report</title><style>${STYLE}</style></head><body>
<h1>${escapeMarkup(title)}</h1><p class="note">qoelab report, generated ${new Date().toISOString()}</p>
${sections.join("\n")}
</body></html>`;
  return { title, html, figures };
}

/** Writes report.html and figures/NAME.svg + NAME.png (rendered with resvg) into `outDir`. */
export async function writeExperimentReport(
  report: ExperimentReport,
  outDir: string,
): Promise<{ html: string; figures: string[] }> {
  mkdirSync(join(outDir, "figures"), { recursive: true });
  const { Resvg } = await import("@resvg/resvg-js");
  const written: string[] = [];
  for (const figure of report.figures) {
    const svgPath = join(outDir, "figures", `${figure.name}.svg`);
    writeFileSync(svgPath, figure.svg);
    const png = new Resvg(figure.svg, {
      font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
      fitTo: { mode: "zoom", value: 2 },
    })
      .render()
      .asPng();
    const pngPath = join(outDir, "figures", `${figure.name}.png`);
    writeFileSync(pngPath, png);
    written.push(svgPath, pngPath);
  }
  const htmlPath = join(outDir, "report.html");
  writeFileSync(htmlPath, report.html);
  return { html: htmlPath, figures: written };
}

/** An experiment folder's report where `qoelab experiment voip` puts it: DIR/report/. */
export async function writeFolderReport(dir: string): Promise<{ html: string; figures: string[] }> {
  return writeExperimentReport(experimentReport(readExperimentReportData({ dir })), join(dir, "report"));
}
