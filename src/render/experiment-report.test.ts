import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../chromium.ts";
import {
  type ExperimentReportData,
  type ReportInput,
  readExperimentReportData,
  type TrainingExport,
  writeSyntheticExperiment,
} from "../quality/report/index.ts";
import { experimentReport, writeExperimentReport } from "./experiment-report.ts";
import { inkPixels, svgDataUrl } from "./test-support/ink-pixels.ts";

const work = mkdtempSync(join(tmpdir(), `qoelab-report-${process.pid}-`));
let browser: Browser;

before(async () => {
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A training export shaped like `GET /api/trainings/:id/export?format=json`, two bandwidths. */
function trainingExport(): TrainingExport {
  const sessions = [0.5, 0.5, 2, 2, 5].map((bw, i) => ({
    id: i + 1,
    name: `s${i + 1}`,
    bw_limitation: bw,
    status: 1,
    application_data: {
      duration: 30,
      stalls:
        bw < 1
          ? [
              { start: 4 + i, duration: 2.5 },
              { start: 20, duration: 1 },
            ]
          : [],
      samples: Array.from({ length: 30 }, (_, t) => ({ t: t + 1, height: bw < 1 ? 360 : bw < 3 ? 720 : 1080 })),
    },
    network_data: {
      series: { window: 1, bytes: Array.from({ length: 30 }, (_, t) => (bw * 1e6 * (0.7 + 0.3 * Math.sin(t))) / 8) },
    },
    labels: { time_weighted_height: bw < 1 ? 360 : bw < 3 ? 720 : 1080 },
  }));
  return { training: { id: 1, name: "synthetic", session_duration: 30, bw_limitations: [0.5, 2, 5] }, sessions };
}

/** The folder's data as `qoelab report` reads it, and the report drawn from it. */
function reportOf(input: ReportInput): { data: ExperimentReportData; report: ReturnType<typeof experimentReport> } {
  const data = readExperimentReportData(input);
  return { data, report: experimentReport(data) };
}

describe("experiment report", () => {
  it("renders MOS per condition, MOS vs loss, RTP and video figures that Chromium draws", async () => {
    const dir = join(work, "exp");
    await writeSyntheticExperiment(dir, { lossPercents: [0, 5, 20], simulatedRaters: 8, seed: 3 });
    writeFileSync(join(dir, "training.json"), JSON.stringify(trainingExport()));
    const { data, report } = reportOf({ dir });
    assert.deepEqual(
      report.figures.map((f) => f.name),
      [
        "mos-by-condition",
        "mos-vs-loss",
        "rtp-loss",
        "rtp-jitter",
        "video-throughput",
        "video-stalls",
        "video-resolution",
      ],
    );
    assert.equal(data.listening?.screened.conditions.length, 3);
    const out = join(work, "out");
    const written = await writeExperimentReport(report, out);
    const page = await browser.newPage();
    await page.goto(pathToFileURL(written.html).href);
    // Figures are inline: bars with CI whiskers, lines with real length, stall spans.
    assert.equal(await page.locator("#fig-mos-by-condition svg rect.bar").count(), 9);
    assert.ok((await page.locator("#fig-mos-by-condition svg path.whisker").count()) >= 3);
    const lengths = await page.$$eval("#fig-mos-vs-loss svg path.series", (paths) =>
      paths.map((p) => (p as SVGPathElement).getTotalLength()),
    );
    assert.equal(lengths.length, 3);
    for (const length of lengths) assert.ok(length > 100, `line length ${length}`);
    assert.equal(await page.locator("#fig-video-stalls svg rect.span").count(), 4);
    const shot = await page.locator("#fig-mos-by-condition").screenshot();
    assert.ok(shot.length > 5000, "the figure screenshot holds a picture");
    for (const figure of report.figures) {
      const svg = await inkPixels(page, svgDataUrl(figure.svg));
      assert.ok(svg.ink / svg.total > 0.02, `${figure.name}.svg draws something (${svg.ink} of ${svg.total} pixels)`);
      const pngBytes = readFileSync(join(out, "figures", `${figure.name}.png`));
      const png = await inkPixels(page, `data:image/png;base64,${pngBytes.toString("base64")}`);
      assert.ok(png.ink / png.total > 0.02, `${figure.name}.png draws something (${png.ink} of ${png.total} pixels)`);
    }
    await page.close();
  });

  it("names the E-model's assumption beside every E-model value: table cells and figure legends", async () => {
    const dir = join(work, "assumption");
    await writeSyntheticExperiment(dir, { lossPercents: [0, 3], pesq: false, seed: 5 });
    const { report } = reportOf({ dir });
    const rows = [...report.html.matchAll(/<tr><td>\d+ % loss<\/td>.*?<\/tr>/g)].map((m) => m[0]);
    assert.equal(rows.length, 2);
    // R and MOS cells, each with the assumption in words on hover.
    for (const row of rows)
      assert.equal(row.match(/title="PLC off: losses played as silence[^"]*">\(PLC off\)/g)?.length, 2);
    for (const name of ["mos-by-condition", "mos-vs-loss"]) {
      const svg = report.figures.find((f) => f.name === name)?.svg ?? "";
      assert.match(svg, />E-model MOS \(PLC off\)</, name);
    }
    // A folder written before the assumption was recorded says so rather than showing a bare value.
    const file = join(dir, "experiment.json");
    const experiment = JSON.parse(readFileSync(file, "utf8")) as {
      conditions: { emodel: { plc?: boolean; assumption?: string } }[];
    };
    for (const c of experiment.conditions) {
      delete c.emodel.plc;
      delete c.emodel.assumption;
    }
    writeFileSync(file, JSON.stringify(experiment));
    const { report: old } = reportOf({ dir });
    assert.equal(old.html.match(/\(assumption not recorded\)<\/span>/g)?.length, 4);
    assert.match(
      old.figures.find((f) => f.name === "mos-vs-loss")?.svg ?? "",
      />E-model MOS \(assumption not recorded\)</,
    );
  });
});
