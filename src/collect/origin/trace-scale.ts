import { QoelabError } from "../../errors.ts";
import { parseTrace } from "../../netlab/index.ts";

/** The range a trace's rates may be scaled by (a tenth of a 3G trace is still a few opportunities a second). */
export const TRACE_SCALE_LIMITS = { min: 0.05, max: 20 } as const;

/**
 * The trace with every rate multiplied by `factor`, its timing kept: ABR studies scale real traces
 * into the range of their bitrate ladder this way (the shape of the dips and outages stays the
 * trace's own). A Mahimahi trace keeps whole 1500-byte opportunities: the i-th one is written
 * ⌊(i+1)·f⌋ − ⌊i·f⌋ times, so any run of n opportunities keeps n·f of them within one; the period
 * (the last line) stays, written once more if thinning dropped it. A qoelab "us" trace keeps its
 * lines and scales each opportunity's bytes (1…65535 after rounding).
 */
export function scaleTrace(text: string, factor: number, name = "trace"): string {
  if (!(factor >= TRACE_SCALE_LIMITS.min && factor <= TRACE_SCALE_LIMITS.max))
    throw new QoelabError(
      "TRACE_SCALE_RANGE",
      `${name}: scale ${factor} is outside ${TRACE_SCALE_LIMITS.min}…${TRACE_SCALE_LIMITS.max}`,
      { trace: name, scale: factor },
    );
  if (factor === 1) return text;
  const parsed = parseTrace(text, name);
  const lines: string[] = [];
  if (parsed.format === "us") {
    lines.push("# qoelab-trace us");
    for (let i = 0; i < parsed.times.length; i++) {
      const bytes = Math.round((parsed.bytes[i] as number) * factor);
      if (bytes < 1 || bytes > 65535)
        throw new QoelabError(
          "TRACE_SCALE_RANGE",
          `${name}: line ${i + 1}'s ${parsed.bytes[i]} bytes × ${factor} leave the 1…65535 bytes an opportunity may carry`,
          { trace: name, scale: factor },
        );
      lines.push(`${parsed.times[i]} ${bytes}`);
    }
    return `${lines.join("\n")}\n`;
  }
  let lastMs = -1;
  for (let i = 0; i < parsed.times.length; i++) {
    const copies = Math.floor((i + 1) * factor) - Math.floor(i * factor);
    const ms = (parsed.times[i] as number) / 1000;
    for (let c = 0; c < copies; c++) lines.push(String(ms));
    if (copies > 0) lastMs = ms;
  }
  const periodMs = parsed.periodUs / 1000;
  if (lastMs !== periodMs) lines.push(String(periodMs));
  return `${lines.join("\n")}\n`;
}
