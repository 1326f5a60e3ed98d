import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodePacket, ipv4, LinkType, raw, udp } from "../packet/index.ts";

describe("changing a field of a packet (Scapy's p[IP].src = …)", () => {
  it("a built packet recomputes checksums and lengths on encode", () => {
    const p = ipv4({ dst: "10.77.0.130" }).over(udp({ dport: 5000 }), raw("hello"));
    p.get("ipv4")!.fields.src = "10.0.0.1";
    const back = decodePacket(p.bytes(), LinkType.RAW);
    assert.equal(back.get("IPv4")!.fields.src, "10.0.0.1");
    assert.equal(back.get("IPv4")!.checksumStatus, "good");
    assert.equal(back.get("UDP")!.checksumStatus, "good");
  });

  it("a decoded packet, changed, is encoded right once rebuilt (its old checksums would be stale)", () => {
    const decoded = decodePacket(
      ipv4({ dst: "10.77.0.130" })
        .over(udp({ dport: 5000 }), raw("hello"))
        .bytes(),
      LinkType.RAW,
    );
    decoded.get("ipv4")!.fields.src = "10.0.0.9";
    decoded.get("udp")!.fields.dport = 6000;
    const stale = decodePacket(decoded.bytes(), LinkType.RAW);
    assert.equal(stale.get("IPv4")!.checksumStatus, "bad");
    const fixed = decodePacket(decoded.rebuilt().bytes(), LinkType.RAW);
    assert.equal(fixed.summary(), "IP 10.0.0.9 > 10.77.0.130 / UDP 5004 > 6000 len=5 / Raw 5 bytes");
    assert.equal(fixed.get("IPv4")!.checksumStatus, "good");
    assert.equal(fixed.get("UDP")!.checksumStatus, "good");
  });
});
