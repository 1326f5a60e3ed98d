import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readCaptureBytes } from "../capture-reader.ts";
import { decodePacket, type Packet } from "../packet.ts";
import { COMPARABLE_FIELDS, qoelabFields, TSHARK_COMPARE_ARGS } from "./qoelab-fields.ts";
import { tsharkFields } from "./tshark-fields.ts";

export interface DecodedCapturePacket {
  packet: Packet;
  bytes: Uint8Array;
  linkType: number;
  origlen: number;
}

/** Every packet of a capture file, decoded with `decodePacket` (bytes copied). */
export function decodeCaptureFile(file: string): DecodedCapturePacket[] {
  const out: DecodedCapturePacket[] = [];
  readCaptureBytes(new Uint8Array(readFileSync(file)), (record) => {
    const bytes = record.buffer.slice(record.offset, record.offset + record.caplen);
    out.push({
      packet: decodePacket(bytes, record.linkType, { wireLength: record.origlen }),
      bytes,
      linkType: record.linkType,
      origlen: record.origlen,
    });
  });
  return out;
}

/**
 * Compares every comparable field of every packet of `file` between tshark and qoelab and
 * returns the differences as readable lines (empty when they agree).
 */
export function compareWithTshark(
  file: string,
  fields: readonly string[] = COMPARABLE_FIELDS,
): { mismatches: string[]; packets: number; compared: number } {
  const names = ["frame.number", ...fields];
  const theirs = tsharkFields(file, names, TSHARK_COMPARE_ARGS);
  const ours = decodeCaptureFile(file);
  const mismatches: string[] = [];
  let compared = 0;
  if (theirs.length !== ours.length) mismatches.push(`packet count: tshark ${theirs.length}, qoelab ${ours.length}`);
  ours.forEach(({ packet }, i) => {
    const row = qoelabFields(packet, names, i + 1);
    const other = theirs[i] ?? [];
    names.forEach((name, j) => {
      if ((other[j] ?? "") !== "" || row[j] !== "") compared++;
      if ((other[j] ?? "") !== row[j]) {
        mismatches.push(`#${i + 1} ${name}: tshark "${other[j] ?? ""}" qoelab "${row[j]}"  [${packet.summary()}]`);
      }
    });
  });
  return { mismatches, packets: ours.length, compared };
}

/**
 * For a file written from built `packets`: every field in `fields` equals tshark's, each packet
 * decodes from the file to the bytes it was built as, and re-encodes to them.
 */
export function assertBuiltPacketsAsTshark(file: string, packets: readonly Packet[], fields: readonly string[]): void {
  const result = compareWithTshark(file, fields);
  assert.deepEqual(result.mismatches.slice(0, 10), []);
  for (const [i, { packet, bytes }] of decodeCaptureFile(file).entries()) {
    assert.deepEqual(bytes, packets[i]!.bytes());
    assert.deepEqual(packet.bytes(), bytes);
  }
}
