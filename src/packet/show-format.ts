import { formatHex } from "./address-text.ts";
import type { ChecksumStatus } from "./anomaly.ts";

/** Value formatting shared by the layers' `show()` rows. */

/** `0x0800`, or "auto" for a field the encoder fills. */
export const showHex = (value: number | undefined, digits: number): string =>
  value === undefined ? "auto" : `0x${value.toString(16).padStart(digits, "0")}`;

export const showNum = (value: number | undefined): string => (value === undefined ? "auto" : String(value));

export const checksumMeaning = (status: ChecksumStatus | undefined): string | undefined => status;

export function previewBytes(data: Uint8Array): string {
  const shown = formatHex(data, 0, Math.min(data.length, 32));
  return data.length > 32 ? `${shown}…` : shown;
}

export function printable(data: Uint8Array): string | undefined {
  const text = Array.from(data.subarray(0, 48), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "."));
  return data.length > 0 ? `"${text.join("")}${data.length > 48 ? "…" : ""}"` : undefined;
}
