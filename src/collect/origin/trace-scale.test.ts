import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTrace } from "../../netlab/index.ts";
import { loadTraceByName, traceStats } from "./trace-library.ts";
import { scaleTrace } from "./trace-scale.ts";

const OPPORTUNITY_MBPS = (1500 * 8) / 1e6;

test("scaling a shipped trace multiplies every second's rate and keeps its timing and period", () => {
  const trace = loadTraceByName("fcc-amazon-797466");
  const original = parseTrace(trace.text, trace.name);
  const times = new Set(original.times);
  for (const factor of [0.3, 0.05, 2.5]) {
    const scaled = scaleTrace(trace.text, factor, trace.name);
    const parsed = parseTrace(scaled, trace.name);
    assert.equal(parsed.periodUs, original.periodUs, `period at ×${factor}`);
    // Thinning or repeating never invents a time (the period's own line aside).
    for (const t of parsed.times) assert.ok(times.has(t), `×${factor}: ${t} µs is a time of the trace`);
    const stats = traceStats(scaled, trace.name);
    assert.ok(
      Math.abs(stats.meanMbps - trace.stats.meanMbps * factor) <= 0.001 + trace.stats.meanMbps * factor * 0.002,
      `×${factor}: mean ${stats.meanMbps} vs ${trace.stats.meanMbps} × ${factor}`,
    );
    // Each 1 s bin keeps its share within one opportunity (plus the period's extra line).
    stats.perSecondMbps.forEach((mbps, k) => {
      const want = (trace.stats.perSecondMbps[k] as number) * factor;
      assert.ok(Math.abs(mbps - want) <= 2 * OPPORTUNITY_MBPS + 0.001, `×${factor}: second ${k}: ${mbps} vs ${want}`);
    });
  }
  assert.equal(scaleTrace(trace.text, 1, trace.name), trace.text);
});

test("a qoelab us trace scales each opportunity's bytes; a scale out of range or past 65535 B is a coded error", () => {
  const us = "# qoelab-trace us\n1000 1500\n2000 600\n4000\n";
  assert.equal(scaleTrace(us, 0.5), "# qoelab-trace us\n1000 750\n2000 300\n4000 750\n");
  for (const factor of [0, 0.01, 25, Number.NaN])
    assert.throws(
      () => scaleTrace(us, factor, "t"),
      (e: Error & { code?: string }) => e.code === "TRACE_SCALE_RANGE",
    );
  assert.throws(
    () => scaleTrace("# qoelab-trace us\n1000 60000\n", 2, "big"),
    (e: Error & { code?: string }) => e.code === "TRACE_SCALE_RANGE" && /65535/.test(e.message),
  );
});
