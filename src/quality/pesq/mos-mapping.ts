/**
 * Mapping of the raw P.862 score to MOS-LQO: P.862.1 (narrowband) and P.862.2 (wideband).
 * Both are logistic functions bounded to (0.999, 4.999).
 */
export function mosLqoNarrowband(raw: number): number {
  return 0.999 + 4 / (1 + Math.exp(-1.4945 * raw + 4.6607));
}

export function mosLqoWideband(raw: number): number {
  return 0.999 + 4 / (1 + Math.exp(-1.3669 * raw + 3.8224));
}

/** Inverse of the P.862.1 mapping (MOS-LQO in (0.999, 4.999) → raw score). */
export function rawFromMosLqoNarrowband(mos: number): number {
  return (4.6607 - Math.log(4 / (mos - 0.999) - 1)) / 1.4945;
}
