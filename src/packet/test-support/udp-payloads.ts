import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dissect } from "../dissect.ts";
import { Dissection } from "../dissection.ts";
import { IpProto } from "../protocol-numbers.ts";

/**
 * Test helpers for the application-layer codecs: the UDP payloads of a classic pcap file (a tiny
 * reader until the capture reader is used here) and tshark's fields per frame as the oracle.
 */
export interface UdpPayload {
  /** 1-based, like tshark's frame.number. */
  frame: number;
  /** IpProto.UDP or IpProto.TCP. */
  proto: number;
  /** TCP sequence number (0 for UDP). */
  seq: number;
  srcPort: number;
  dstPort: number;
  /** View of the captured UDP payload. */
  bytes: Uint8Array;
}

export function readUdpPayloads(path: string): UdpPayload[] {
  return readTransportPayloads(path).filter((p) => p.proto === IpProto.UDP);
}

/** UDP and TCP payloads (TCP segments with no payload left out). */
export function readTransportPayloads(path: string): UdpPayload[] {
  const file = new Uint8Array(readFileSync(path));
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = view.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && view.getUint32(0, false) !== 0xa1b2c3d4 && view.getUint32(0, false) !== 0xa1b23c4d) {
    throw new Error(`${path}: not a classic pcap file`);
  }
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const out: UdpPayload[] = [];
  const d = new Dissection();
  let p = 24;
  let frame = 0;
  while (p + 16 <= file.length) {
    const caplen = view.getUint32(p + 8, little);
    const origlen = view.getUint32(p + 12, little);
    frame++;
    dissect(file, p + 16, caplen, origlen, linkType, d);
    const transport = d.ipProto === IpProto.UDP || (d.ipProto === IpProto.TCP && d.capturedPayloadLength > 0);
    if (transport && d.payloadOffset >= 0) {
      out.push({
        frame,
        proto: d.ipProto,
        seq: d.ipProto === IpProto.TCP ? d.seq : 0,
        srcPort: d.srcPort,
        dstPort: d.dstPort,
        bytes: file.subarray(d.payloadOffset, d.payloadOffset + d.capturedPayloadLength),
      });
    }
    p += 16 + caplen;
  }
  return out;
}

/**
 * tshark `-T fields` for `fields`, one map per frame that matches `displayFilter`, keyed by
 * frame number; every occurrence of a field is kept (`-E occurrence=a`), joined by "|".
 */
export function tsharkFields(
  path: string,
  displayFilter: string,
  fields: readonly string[],
  extraArgs: readonly string[] = [],
): Map<number, Record<string, string>> {
  const text = execFileSync(
    "tshark",
    [
      "-r",
      path,
      ...extraArgs,
      "-Y",
      displayFilter,
      "-T",
      "fields",
      "-E",
      "occurrence=a",
      "-E",
      "aggregator=|",
      "-E",
      "separator=\t",
      "-e",
      "frame.number",
      ...fields.flatMap((f) => ["-e", f]),
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 1024 * 1024 },
  );
  const out = new Map<number, Record<string, string>>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const columns = line.split("\t");
    const row: Record<string, string> = {};
    fields.forEach((f, i) => {
      row[f] = columns[i + 1] ?? "";
    });
    out.set(Number(columns[0]), row);
  }
  return out;
}
