import assert from "node:assert/strict";
import { dissect } from "../dissect.ts";
import { Dissection } from "../dissection.ts";
import { decodePacket } from "../packet.ts";

export interface UndecodedHeader {
  /** The layer the slow decode names in its Raw layer (`undecoded`). */
  layer: string;
  /** The one anomaly code the slow decode reports. */
  code: string;
  /** The fast path's anomaly bit (`Anomaly.*`). */
  bit: number;
  /** The fast path sets exactly that bit (default), or at least it. */
  onlyBit?: boolean;
  /** The frame's length on the wire when `bytes` is a capture's cut (default: its length). */
  wireLength?: number;
}

/**
 * How both paths take a header they cannot read: the slow decode leaves a Raw layer naming it with
 * exactly one anomaly and re-encodes the bytes as they were; the fast path flags it. Returns the
 * fast path's dissection for more checks.
 */
export function assertUndecodedHeader(bytes: Uint8Array, linkType: number, expected: UndecodedHeader): Dissection {
  const wireLength = expected.wireLength ?? bytes.length;
  const packet = decodePacket(bytes, linkType, { wireLength });
  assert.equal(packet.get("Raw")?.fields.undecoded, expected.layer);
  assert.deepEqual(
    packet.anomalies.map((a) => a.code),
    [expected.code],
  );
  assert.deepEqual(packet.bytes(), bytes);
  const d = new Dissection();
  dissect(bytes, 0, bytes.length, wireLength, linkType, d);
  if (expected.onlyBit === false) assert.ok(d.anomalies & expected.bit, `anomalies ${d.anomalies}`);
  else assert.equal(d.anomalies, expected.bit);
  return d;
}
