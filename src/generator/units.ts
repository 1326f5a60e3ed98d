import { QoelabError } from "../errors.ts";

/*
 * Quantities written the way tc(8) writes them, so a value means the same in `qoelab impair` as in
 * `tc qdisc … netem/tbf`: rates in bit/kbit/mbit/gbit/tbit (SI) or kibit…(IEC), bps/kbps/mbps/gbps
 * = BYTES per second (as tc says); a bare rate is bit/s. Times in s/ms/us(/usec/msec/sec); a bare
 * time is µs as in tc (the generator's --duration is in seconds; see its help). Sizes in
 * b/k/kb/m/mb/g/gb (×1024) or kbit/mbit (bits); a bare size is bytes.
 */

const NUMBER = "([0-9]*\\.?[0-9]+(?:e[-+]?\\d+)?)";

function bad(code: string, what: string, text: string, expected: string): QoelabError {
  return new QoelabError(code, `${what} "${text}": ${expected}`, { field: what, value: text });
}

const RATE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 1024,
  mibps: 8 * 1024 ** 2,
  gibps: 8 * 1024 ** 3,
};

/** A tc rate → bits per second. */
export function parseRate(text: string, what = "rate", code = "UNIT_BAD_RATE"): number {
  const m = new RegExp(`^${NUMBER}\\s*([a-z]*)$`, "i").exec(text.trim());
  const unit = m?.[2]?.toLowerCase() ?? "";
  const factor = RATE_UNITS[unit];
  if (!m || factor === undefined) throw bad(code, what, text, "expected a rate like 1mbit, 500kbit or 2mbps (bytes/s)");
  const value = Number(m[1]) * factor;
  if (!(value > 0) || !Number.isFinite(value)) throw bad(code, what, text, "must be greater than 0");
  return value;
}

const TIME_UNITS: Readonly<Record<string, number>> = {
  s: 1,
  sec: 1,
  secs: 1,
  ms: 1e-3,
  msec: 1e-3,
  msecs: 1e-3,
  us: 1e-6,
  usec: 1e-6,
  usecs: 1e-6,
  ns: 1e-9,
  nsec: 1e-9,
  nsecs: 1e-9,
};

/** A time → seconds. `bare` is the unit of a number without one (tc: µs). Zero is allowed. */
export function parseTime(
  text: string,
  what = "time",
  options: { bare?: "s" | "ms" | "us"; code?: string } = {},
): number {
  const code = options.code ?? "UNIT_BAD_TIME";
  const m = new RegExp(`^${NUMBER}\\s*([a-z]*)$`, "i").exec(text.trim());
  const unit = m?.[2]?.toLowerCase() ?? "";
  const factor = unit === "" ? TIME_UNITS[options.bare ?? "us"] : TIME_UNITS[unit];
  if (!m || factor === undefined) throw bad(code, what, text, "expected a time like 40ms, 1.5s or 200us");
  const value = Number(m[1]) * factor;
  if (!(value >= 0) || !Number.isFinite(value)) throw bad(code, what, text, "must be 0 or more");
  return value;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  kbit: 1024 / 8,
  mbit: 1024 ** 2 / 8,
  gbit: 1024 ** 3 / 8,
};

/** A tc size → bytes. */
export function parseSize(text: string, what = "size", code = "UNIT_BAD_SIZE"): number {
  const m = new RegExp(`^${NUMBER}\\s*([a-z]*)$`, "i").exec(text.trim());
  const unit = m?.[2]?.toLowerCase() ?? "";
  const factor = SIZE_UNITS[unit];
  if (!m || factor === undefined) throw bad(code, what, text, "expected a size like 1500, 32kb or 1mb");
  const value = Math.round(Number(m[1]) * factor);
  if (!(value > 0) || !Number.isFinite(value)) throw bad(code, what, text, "must be greater than 0");
  return value;
}

/** A packet rate: "50pps", "2kpps", or a bit rate ("64kbit") converted with the packet's wire size. */
export function parsePacketRate(text: string, wireBytes: number, what = "rate", code = "GEN_BAD_RATE"): number {
  const t = text.trim().toLowerCase();
  const m = new RegExp(`^${NUMBER}\\s*(k|m)?pps$`).exec(t) ?? (/^\d+(\.\d+)?$/.test(t) ? [t, t, ""] : null);
  if (m) {
    const value = Number(m[1]) * (m[2] === "k" ? 1e3 : m[2] === "m" ? 1e6 : 1);
    if (!(value > 0) || !Number.isFinite(value)) throw bad(code, what, text, "must be greater than 0");
    return value;
  }
  return parseRate(text, what, code) / (wireBytes * 8);
}

export function formatRate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1e9) return `${+(bitsPerSecond / 1e9).toPrecision(6)}gbit`;
  if (bitsPerSecond >= 1e6) return `${+(bitsPerSecond / 1e6).toPrecision(6)}mbit`;
  if (bitsPerSecond >= 1e3) return `${+(bitsPerSecond / 1e3).toPrecision(6)}kbit`;
  return `${+bitsPerSecond.toPrecision(6)}bit`;
}

export function formatTime(seconds: number): string {
  if (seconds >= 1) return `${+seconds.toPrecision(6)}s`;
  if (seconds >= 1e-3) return `${+(seconds * 1e3).toPrecision(6)}ms`;
  return `${+(seconds * 1e6).toPrecision(6)}us`;
}
