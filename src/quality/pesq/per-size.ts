/**
 * `make` memoized per size: transforms, windows and scratch buffers that depend only on a transform
 * or frame size are built once and shared (the engine is single-threaded).
 */
export function perSize<T>(make: (size: number) => T): (size: number) => T {
  const made = new Map<number, T>();
  return (size) => {
    let value = made.get(size);
    if (value === undefined) {
      value = make(size);
      made.set(size, value);
    }
    return value;
  };
}
