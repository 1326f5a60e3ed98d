import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { analyzeCaptureFile } from "./analyze.ts";
import { createFlowEngine } from "./engine.ts";
import { toRecord, writePcap } from "./test-support/synthetic.ts";
import {
  FILLED_ROWS_FREE,
  FILLED_ROWS_PER_OCCUPIED,
  MAX_FILLED_GAP_WINDOWS,
  mergeSeries,
  SERIES_COLUMNS,
  SeriesColumn,
  seriesFromPartial,
  WindowSeries,
} from "./time-series.ts";

const REALCAPS = "/work/shared/data/realcaps";
const dir = mkdtempSync(join(tmpdir(), `qlt-series-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400;
const T0 = 1_700_000_000;
const udp = (time: number, sport = 5000) => ({
  src: "10.77.0.1",
  dst: "10.77.0.2",
  sport,
  dport: 6000,
  proto: "udp" as const,
  time,
  payload: 100,
});

/** Rows a series of `occupied` windows may have at most (occupied + filled gaps). */
const rowBound = (occupied: number) => occupied + FILLED_ROWS_FREE + FILLED_ROWS_PER_OCCUPIED * occupied;

describe("sparse windows: memory and time follow packets, whatever the capture's span", () => {
  test("WindowSeries keeps only occupied windows, in window order, out-of-order packets included", () => {
    const s = new WindowSeries(2);
    for (const w of [10, 10, 1_000_000_000, 12, 12, 11, 3, 1_000_000_000]) {
      const row = s.row(w); // may grow `data`: read it after
      s.data[row + SeriesColumn.PACKETS]!++;
    }
    assert.equal(s.length, 4);
    const p = s.toPartial();
    // A window before the first folds into it, as before.
    assert.deepEqual(p.windows, [10, 11, 12, 1_000_000_000]);
    assert.deepEqual(
      p.windows.map((_, i) => p.data[i * SERIES_COLUMNS + SeriesColumn.PACKETS]),
      [3, 1, 2, 2],
    );
    const merged = mergeSeries([p, { windows: [11, 20], data: new Array(2 * SERIES_COLUMNS).fill(1) }]);
    assert.deepEqual(merged.windows, [10, 11, 12, 20, 1_000_000_000]);
    assert.equal(merged.data[1 * SERIES_COLUMNS + SeriesColumn.PACKETS], 2);
    const out = seriesFromPartial(merged, T0, 1e9, true);
    // 12 → 20 is a short gap (7 zero rows); 20 → 10^9 is left out.
    assert.deepEqual(
      out.start.slice(0, 11),
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20].map((w) => T0 + w),
    );
    assert.equal(out.start.length, 12);
    assert.equal(out.start[11], T0 + 1_000_000_000);
    assert.equal(out.rttMean[4], null);
  });

  test("two UDP packets a year apart: two windows, no giant array (threw RangeError before)", () => {
    for (const span of [DAY, 30 * DAY, 365 * DAY, 20 * 365 * DAY]) {
      const engine = createFlowEngine({ features: true, udpIdleTimeout: 100 * 365 * DAY });
      engine.push(toRecord(udp(T0), 0));
      engine.push(toRecord(udp(T0 + span + 0.5), 1));
      const result = engine.finish();
      assert.deepEqual(result.series.start, [T0, T0 + span], `span ${span}`);
      assert.deepEqual(result.series.packets, [1, 1]);
      assert.equal(result.flows.length, 1);
      assert.deepEqual(result.flows[0]!.series!.packets, [1, 1]);
      // Features over the sparse series (Math.max over a 30-day array overflowed the stack before).
      assert.equal(result.features!.active_flows_max, 1);
      assert.equal(result.features!.duration_s, span + 1);
    }
  });

  test("gaps up to an hour are zero rows (the dense series of a normal capture), longer gaps are left out", () => {
    const engine = createFlowEngine({});
    const times = [0, 3, 3 + MAX_FILLED_GAP_WINDOWS + 1, 3 + MAX_FILLED_GAP_WINDOWS + 1 + MAX_FILLED_GAP_WINDOWS + 2];
    for (const [i, t] of times.entries()) engine.push(toRecord(udp(T0 + t, 5000 + i), i));
    const s = engine.finish().series;
    assert.equal(s.start.length, 4 + MAX_FILLED_GAP_WINDOWS + 2);
    assert.deepEqual(s.start.slice(0, 5), [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]);
    assert.deepEqual(s.packets.slice(0, 4), [1, 0, 0, 1]);
    assert.equal(s.start.at(-1)! - s.start.at(-2)!, MAX_FILLED_GAP_WINDOWS + 2);
    assert.equal(
      s.packets.reduce((a, b) => a + b, 0),
      4,
    );
  });

  test("a flow's series counts every packet, also the one whose window grew the rows (one was lost per growth before)", () => {
    const engine = createFlowEngine({ series: true });
    for (let i = 0; i < 40; i++) engine.push(toRecord(udp(T0 + i * 1.5), i));
    const result = engine.finish();
    const flow = result.flows[0]!;
    assert.equal(
      flow.series!.packets.reduce((a, b) => a + b, 0),
      40,
    );
    assert.deepEqual(flow.series!.packets, result.series.packets);
  });

  test("the same packets give the same series with 1 and 2 workers, on a capture spanning ten years", async () => {
    const file = join(dir, "decade.pcap");
    const specs = [];
    for (let i = 0; i < 600; i++)
      specs.push(udp(T0 + Math.floor(i / 60) * 365 * DAY + (i % 60) * 0.25, 4000 + (i % 7)));
    await writePcap(file, specs);
    const one = await analyzeCaptureFile(file, { workers: 1, features: true });
    const two = await analyzeCaptureFile(file, { workers: 2, features: true });
    assert.deepEqual(two.series, one.series);
    assert.deepEqual(two.features, one.features);
    assert.equal(
      one.series.packets.reduce((a, b) => a + b, 0),
      600,
    );
    assert.equal(one.series.start.length, 10 * 15);
  });

  test("real captures spanning years and weeks (crashed and ran for minutes before)", async () => {
    for (const [file, packets] of [
      // 8 packets over 442 million seconds.
      ["odd/pcapplusplus/packet-examples/Smtp.pcap", 8],
      // 174 packets over 14 days.
      ["odd/tcpdump-tests/of13_ericsson.pcapng", 174],
    ] as const) {
      const result = await analyzeCaptureFile(join(REALCAPS, file), { workers: 1, features: true });
      assert.equal(result.capture.packets, packets, file);
      assert.equal(
        result.series.packets.reduce((a, b) => a + b, 0),
        packets,
        file,
      );
      assert.ok(result.series.start.length <= rowBound(packets), `${file}: ${result.series.start.length} rows`);
      for (const flow of result.flows) {
        assert.equal(
          flow.series!.packets.reduce((a, b) => a + b, 0),
          flow.c2s.packets + flow.s2c.packets,
          file,
        );
      }
    }
  });
});

describe("window origin", () => {
  // µs-exact times: the first packet 0.6 s into its second.
  const times = [T0 + 0.6, T0 + 1.599999, T0 + 1.6, T0 + 2.5, T0 + 4.7];

  test("first-packet: windows start at the first packet, as tshark io,stat's intervals, with 1 and 2 workers", async () => {
    const file = join(dir, "origin.pcap");
    await writePcap(
      file,
      times.map((time) => udp(time)),
    );
    const one = await analyzeCaptureFile(file, { workers: 1, windowOrigin: "first-packet" });
    const two = await analyzeCaptureFile(file, { workers: 2, windowOrigin: "first-packet" });
    assert.deepEqual(two.series, one.series);
    assert.equal(one.series.origin, T0 + 0.6);
    // [0.6, 1.6): 2 packets; [1.6, 2.6): 2; [2.6, 3.6): none; [3.6, 4.6): none; [4.6, 5.6): 1.
    assert.deepEqual(one.series.packets, [2, 2, 0, 0, 1]);
    assert.deepEqual(
      one.series.start.map((s) => Math.round((s - T0) * 10) / 10),
      [0.6, 1.6, 2.6, 3.6, 4.6],
    );
    const flow = (await analyzeCaptureFile(file, { windowOrigin: "first-packet", series: true })).flows[0]!;
    assert.deepEqual(flow.series!.packets, [2, 2, 0, 0, 1]);
    assert.equal(flow.series!.origin, T0 + 0.6);
  });

  test("second (the default): windows fall on whole seconds", async () => {
    const file = join(dir, "origin.pcap");
    const one = await analyzeCaptureFile(file, { workers: 1 });
    assert.equal(one.series.origin, T0);
    // [0, 1): 1; [1, 2): 2; [2, 3): 1; [3, 4): none; [4, 5): 1.
    assert.deepEqual(one.series.packets, [1, 2, 1, 0, 1]);
    assert.deepEqual(
      one.series.start.map((s) => s - T0),
      [0, 1, 2, 3, 4],
    );
  });
});
