import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { readWav, writeWav } from "../audio/index.ts";
import { CHROMIUM_ARGS, chromiumPath } from "../chromium.ts";
import { isQoelabError } from "../errors.ts";
import { labDown, labStatus, labUp } from "../netlab/index.ts";
import { readExperimentFolder } from "../quality/report/index.ts";
import { writeFolderReport } from "../render/index.ts";
import { inkPixels, svgDataUrl } from "../render/test-support/ink-pixels.ts";
import { runVoipExperiment } from "../voip/index.ts";
import { experimentRun } from "../voip/test-support/experiment-run.ts";

let counter = 0;
const labName = () => `xv${process.pid % 100000}${counter++}`;

function samples(path: string): Int16Array {
  const wav = readWav(new Uint8Array(readFileSync(path)), path);
  const ch = wav.channels[0]!;
  return Int16Array.from(ch, (v) => Math.round(v * 32768));
}

/** 99.9 % normal-approximation interval of a binomial count (n, p), widened by one packet. */
function binomialInterval(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.max(0, n * p - 3.29 * sd - 1), n * p + 3.29 * sd + 1];
}

describe("experiment voip (live: two baresip softphones across a client — router — server lab)", () => {
  const run = experimentRun("experiment", labName(), (dir) => {
    const speech = join(dir, "speech.wav");
    execFileSync("espeak-ng", [
      "-w",
      speech,
      "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.",
    ]);
    return { wav: speech, lossPercents: [0, 10], seconds: 4, writeReport: writeFolderReport };
  });

  test("writes a valid experiment folder with the report, and leaves no lab behind", async () => {
    const folder = readExperimentFolder(run.result.dir);
    assert.equal(folder.experiment.conditions.length, 2);
    assert.equal(folder.experiment.reference, "original.wav");
    const original = readWav(new Uint8Array(readFileSync(folder.path("original.wav"))));
    assert.equal(original.sampleRate, 8000);
    assert.equal(original.channels.length, 1);
    assert.deepEqual(run.result.experiment.conversions, ["resampled 22050 Hz → 8000 Hz"]);
    for (const c of folder.experiment.conditions) {
      assert.ok(existsSync(folder.path(c.received)), c.received);
      const size = c.capture ? statSync(folder.path(c.capture)).size : 0;
      assert.ok(size > 10_000, `${c.capture}: ${size} bytes`);
      assert.ok(c.emodel && Number.isFinite(c.emodel.mos));
      const forward = c.streams?.filter((s) => s.direction === "caller→callee") ?? [];
      const backward = c.streams?.filter((s) => s.direction === "callee→caller") ?? [];
      assert.equal(forward.length, 1);
      assert.equal(backward.length, 1);
      assert.equal(forward[0]!.codec, "g711U");
      // 20 ms packets; a lost packet makes one 40 ms delta, so the forward mean scales by expected/received.
      const f = forward[0]!;
      const perPacket = ((f.meanDeltaMs ?? 0) * f.packets) / (f.expected ?? f.packets);
      assert.ok(Math.abs(perPacket - 20) < 2, `forward mean delta ${f.meanDeltaMs} ms`);
      assert.ok(
        Math.abs((backward[0]!.meanDeltaMs ?? 0) - 20) < 2,
        `backward mean delta ${backward[0]!.meanDeltaMs} ms`,
      );
    }
    assert.ok(existsSync(join(run.result.dir, "report", "report.html")));
    assert.ok(run.result.report?.figures.some((f) => f.endsWith(".svg")));
    assert.match(readFileSync(join(run.result.dir, "report", "report.html"), "utf8"), /loss-10|10 % loss/);
    assert.deepEqual(await labStatus(run.lab), [], "the lab the run brought up is down again");
  });

  test("the report of this real run opens in Chromium and every figure draws something", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(join(run.result.dir, "report", "report.html")).href);
      const figures = await page.$$eval("figure svg, .figure svg, svg", (svgs) => svgs.length);
      assert.ok(figures >= 3, `${figures} figures in the report`);
      // Rasterize each inline SVG as Chromium draws it and count non-white pixels.
      const svgs = await page.$$eval("svg", (all) => all.map((svg) => new XMLSerializer().serializeToString(svg)));
      const ink: number[] = [];
      for (const svg of svgs) {
        const { ink: drawn, total } = await inkPixels(page, svgDataUrl(svg));
        ink.push(drawn / total);
      }
      for (const [i, share] of ink.entries()) assert.ok(share > 0.02, `figure ${i} draws ${share} of its pixels`);
      const shot = await page.screenshot({ fullPage: true });
      assert.ok(shot.length > 20_000, "the page screenshot holds the plots");
    } finally {
      await browser.close();
    }
  });

  test("realized loss lies in the binomial interval of the target; E-model MOS falls with loss", () => {
    const [clean, lossy] = run.result.experiment.conditions as [
      (typeof run.result.experiment.conditions)[0],
      (typeof run.result.experiment.conditions)[0],
    ];
    const f0 = clean.streams!.find((s) => s.direction === "caller→callee")!;
    const f1 = lossy.streams!.find((s) => s.direction === "caller→callee")!;
    assert.equal(f0.lost, 0);
    assert.equal(clean.lossBackend, "none");
    const [lo, hi] = binomialInterval(f1.expected!, 0.1);
    assert.ok(f1.lost >= lo && f1.lost <= hi, `lost ${f1.lost} of ${f1.expected}, interval [${lo}, ${hi}]`);
    assert.ok(f1.lost > 0);
    // The backend that served is stated; iptables says it is not seeded.
    assert.match(lossy.lossBackend, /iptables|emulator|netem/);
    if (/iptables/.test(lossy.lossBackend)) {
      assert.equal(lossy.seededLoss, false);
      assert.match(lossy.lossBackend, /FORWARD.*not seeded/);
      // The FORWARD rule dropped at least the RTP that is missing (plus any SIP/RTCP).
      assert.ok((lossy.droppedByLink ?? 0) >= f1.lost);
    }
    assert.ok(clean.emodel!.mos > lossy.emodel!.mos, `${clean.emodel!.mos} > ${lossy.emodel!.mos}`);
    if (clean.pesq && lossy.pesq) assert.ok(clean.pesq.mosLqo > lossy.pesq.mosLqo);
  });

  test("extracted audio of the lossless call equals the callee's own recording sample for sample", () => {
    const clean = run.result.experiment.conditions[0]!;
    assert.ok(clean.calleeRecording, "the callee's sndfile recording is kept");
    const extracted = samples(join(run.result.dir, clean.received));
    const recorded = samples(join(run.result.dir, clean.calleeRecording));
    // baresip's µ-law decoder maps the two zero codes (0xFF, 0x7F) to ±2; G.711 says 0.
    const same = (e: number, r: number) => e === r || (e === 0 && Math.abs(r) === 2);
    let offset: number | undefined;
    for (let frames = -25; frames <= 25 && offset === undefined; frames++) {
      const o = frames * 160;
      let ok = true;
      let compared = 0;
      for (let i = Math.max(0, -o); i < recorded.length && i + o < extracted.length; i++) {
        if (!same(extracted[i + o]!, recorded[i]!)) {
          ok = false;
          break;
        }
        compared++;
      }
      if (ok && compared > 8000 * 2) offset = o;
    }
    assert.ok(offset !== undefined, "some alignment makes the two identical over > 2 s");
  });
});

describe("experiment voip: bad input is refused before anything is configured", () => {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-experiment-bad-${process.pid}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a stereo WAV whose channels cancel is refused; no lab is created", async () => {
    const a = new Float32Array(8000).map((_, i) => 0.3 * Math.sin(i / 3));
    const wav = join(dir, "anti.wav");
    writeFileSync(wav, writeWav([a, a.map((v) => -v)], 8000, "pcm16"));
    const lab = labName();
    await assert.rejects(
      runVoipExperiment({ wav, lossPercents: [0], out: join(dir, "o1"), lab }),
      (e: unknown) => isQoelabError(e) && e.code === "AUDIO_AMBIGUOUS_CHANNELS",
    );
    assert.deepEqual(await labStatus(lab), []);
  });

  test("missing baresip or tcpdump names the Debian package", async () => {
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    for (const tool of ["sh", "ip", "iptables"]) {
      symlinkSync(execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(), join(bin, tool));
    }
    const path = process.env.PATH;
    process.env.PATH = bin;
    try {
      await assert.rejects(
        runVoipExperiment({ wav: "x.wav", lossPercents: [0], out: join(dir, "o2"), lab: labName() }),
        (e: unknown) => isQoelabError(e) && /tcpdump.*package "tcpdump"/.test(e.message),
      );
      symlinkSync(
        execFileSync("sh", ["-c", "command -v tcpdump"], { encoding: "utf8", env: { PATH: path } }).trim(),
        join(bin, "tcpdump"),
      );
      await assert.rejects(
        runVoipExperiment({ wav: "x.wav", lossPercents: [0], out: join(dir, "o3"), lab: labName() }),
        (e: unknown) => isQoelabError(e) && e.code === "VOIP_TOOL_MISSING" && /package "baresip"/.test(e.message),
      );
    } finally {
      process.env.PATH = path;
    }
  });

  test("a lab already up with another configuration is refused and left as it was", async () => {
    const lab = labName();
    await labUp({ name: lab, router: false });
    try {
      const speech = join(dir, "tone.wav");
      writeFileSync(speech, writeWav([new Float32Array(8000).map((_, i) => 0.2 * Math.sin(i / 4))], 8000, "pcm16"));
      await assert.rejects(
        runVoipExperiment({ wav: speech, lossPercents: [0, 1], out: join(dir, "o4"), lab }),
        (e: unknown) => isQoelabError(e) && e.code === "LAB_ALREADY_UP" && e.message.includes(lab),
      );
      const status = await labStatus(lab);
      assert.equal(status[0]?.state, "up");
      assert.equal(status[0]?.config.router, false);
    } finally {
      await labDown(lab);
    }
  });
});
