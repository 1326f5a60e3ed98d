/** Calls `fn(start, end)` for every maximal run [start, end) of positive values (speech windows, bad frames). */
export function positiveRuns(values: Float32Array | Uint8Array, fn: (start: number, end: number) => void): void {
  const V = values.length;
  let v = 0;
  while (v < V) {
    if (values[v]! > 0) {
      const start = v;
      while (v < V && values[v]! > 0) v++;
      fn(start, v);
    } else v++;
  }
}
