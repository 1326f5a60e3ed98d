/**
 * A duration as people type it for windows and intervals → seconds: a decimal number with an
 * optional unit `ms`, `s` (the default) or `m`, spaces allowed before the unit ("500ms", "10",
 * "2.5 s", "1m"). undefined unless it is greater than 0; callers throw their own coded error.
 * (tc's time grammar, bare numbers in µs, is generator's `parseTime`.)
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(m[1]) * (m[2] === "ms" ? 0.001 : m[2] === "m" ? 60 : 1);
  return value > 0 ? value : undefined;
}
