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

describe("fields as a layer's own properties (Scapy's p[IP].src)", () => {
  it("p.get('ipv4').src reads and assigns the field, and the packet encodes with it", () => {
    const p = ipv4({ src: "10.77.0.1", dst: "10.77.0.130", ttl: 9 }).over(udp({ dport: 5000 }), raw("hi"));
    const ip = p.get("ipv4")!;
    assert.equal(ip.src, "10.77.0.1");
    assert.equal(ip.ttl, 9);
    ip.src = "10.0.0.1";
    p.get("udp")!.dport = 6000;
    assert.equal(ip.fields.src, "10.0.0.1");
    assert.equal(ip.type, "IPv4");
    assert.equal(p.get("ipv4"), ip, "the same view each time");
    const back = decodePacket(p.bytes(), LinkType.RAW);
    assert.equal(back.summary(), "IP 10.0.0.1 > 10.77.0.130 / UDP 5004 > 6000 len=2 / Raw 2 bytes");
    assert.equal(back.get("IPv4")!.checksumStatus, "good");
  });
});
