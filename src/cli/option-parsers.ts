/**
 * Option parsers shared by several commands (generators, replay, experiments, listening tests, reports).
 * Those built on the generators' grammars are in generator-option-parsers.ts, so that the commands
 * importing this file (flows, ml, serve…) do not load the generators and audio.
 */
import { parseDuration } from "../common/index.ts";
import { QoelabError } from "../errors.ts";

/** "0x1234abcd" or a decimal → unsigned 32-bit SSRC. */
export function parseSsrc(text: string, option = "--ssrc"): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]{1,8}$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff)) {
    throw new QoelabError("GEN_BAD_SSRC", `${option} "${text}": expected a 32-bit number (decimal or 0x hex)`, {
      option,
      value: text,
    });
  }
  return n;
}

export function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff)) {
    throw new QoelabError("GEN_BAD_SEED", `--seed "${text}": expected a whole number 0…4294967295`);
  }
  return n;
}

/** An id or count given as up to nine digits (so it fits a 32-bit column); `fallback` when absent. */
export function parseDigits(value: string, flag: string): number;
export function parseDigits(value: string | undefined, flag: string, fallback?: number): number | undefined;
export function parseDigits(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value))
    throw new QoelabError("CLI_BAD_ARGUMENT", `${flag} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

/** A port option of `command`: a whole number from `lowest` (0 where 0 means "do not listen") to 65535. */
export function parsePort(text: string, flag: string, command: string, lowest = 1): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < lowest || port > 65535)
    throw new QoelabError("CLI_BAD_PORT", `${command}: ${flag} must be ${lowest}–65535, got "${text}"`);
  return port;
}

/** A comma-separated option's items ("a, b,,c" → a, b, c): trimmed, empty ones left out. */
export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** `--window`: "10s", "10", "500ms", "1m" → seconds (`parseDuration`, src/common/duration.ts). */
export function parseWindow(text: string): number {
  const value = parseDuration(text);
  if (value === undefined)
    throw new QoelabError("CLI_BAD_WINDOW", `--window ${text}: expected a duration such as 10s or 500ms`, {
      value: text,
    });
  return value;
}
