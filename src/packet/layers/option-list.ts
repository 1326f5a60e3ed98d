import { anomaly, type LayerAnomaly } from "../anomaly.ts";

/*
 * The option list IPv4 (RFC 791 §3.1) and TCP (RFC 9293 §3.1) share: code 0 (End of Option List)
 * ends it, code 1 (No-Operation) is one byte, any other option is code, length (counting the
 * code and length bytes), data. The two protocols differ only in what they call the code, which
 * codes they know and (TCP) which lengths a known option may have.
 */

const END_OF_LIST = 0;
const NO_OPERATION = 1;

/** What one protocol's option list names and checks. */
export interface OptionListFormat {
  /** "IPv4" or "TCP", as the anomaly messages name it. */
  protocol: string;
  /** What the protocol calls the first byte ("type", "kind"). */
  codeName: string;
  /** The codes it knows, with their names. */
  names: ReadonlyMap<number, string>;
  /** False when a known option's length is impossible for it. */
  lengthFits?: (code: number, length: number) => boolean;
}

/**
 * The options in bytes[start, end), each made by `make` (`raw`: the option's length was
 * impossible, `data` holds the rest of the area). Problems go to `anomalies`.
 */
export function decodeOptionList<O>(
  bytes: Uint8Array,
  start: number,
  end: number,
  anomalies: LayerAnomaly[],
  format: OptionListFormat,
  make: (code: number, data: Uint8Array, raw: boolean) => O,
): O[] {
  const options: O[] = [];
  let at = start;
  while (at < end) {
    const code = bytes[at]!;
    if (code === END_OF_LIST) {
      options.push(make(code, bytes.slice(at + 1, end), false));
      break;
    }
    if (code === NO_OPERATION) {
      options.push(make(code, new Uint8Array(0), false));
      at++;
      continue;
    }
    const length = at + 1 < end ? bytes[at + 1]! : 0;
    if (length < 2 || at + length > end) {
      const left = end - at;
      anomalies.push(
        anomaly("bad-option", `${format.protocol} option ${code} has length ${length} (${left} bytes left)`),
      );
      options.push(make(code, bytes.slice(at + 1, end), true));
      break;
    }
    const name = format.names.get(code);
    if (name === undefined) {
      anomalies.push(anomaly("unknown-option", `${format.protocol} option ${format.codeName} ${code}`));
    } else if (format.lengthFits !== undefined && !format.lengthFits(code, length)) {
      anomalies.push(anomaly("bad-option", `${format.protocol} ${name} option has length ${length}`));
    }
    options.push(make(code, bytes.slice(at + 2, at + length), false));
    at += length;
  }
  return options;
}

/** The option area's bytes (not yet padded); a raw option is written as it was read. */
export function encodeOptionList<O extends { data: Uint8Array; raw?: boolean }>(
  options: readonly O[],
  codeOf: (option: O) => number,
): Uint8Array {
  const parts: number[] = [];
  for (const option of options) {
    const code = codeOf(option);
    parts.push(code);
    if (!(option.raw || code === END_OF_LIST || code === NO_OPERATION)) parts.push(option.data.length + 2);
    for (const b of option.data) parts.push(b);
  }
  return Uint8Array.from(parts);
}
