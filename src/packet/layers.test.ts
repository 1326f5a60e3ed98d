import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isQoelabError } from "../errors.ts";
import { formatIpv6, parseHex, parseIpv4, parseIpv6, parseMac } from "./address-text.ts";
import type { AnomalyCode } from "./anomaly.ts";
import { ether, icmp, icmpv6, ipv4, ipv6, raw, stack, tcp, udp, vlan } from "./builder.ts";
import {
  checksumVerifies,
  foldSum,
  internetChecksum,
  onesComplementSum,
  pseudoHeaderSumAt,
  updateChecksum,
} from "./checksum.ts";
import type { AnyLayer } from "./layer.ts";
import { ipv6Extension } from "./layers/ipv6.ts";
import { tcpOption } from "./layers/tcp.ts";
import { LinkType } from "./link-type.ts";
import { decodePacket, type Packet } from "./packet.ts";
import { layerDef } from "./registry.ts";
import { layerCorpus } from "./test-support/layer-corpus.ts";

describe("checksum", () => {
  it("matches the RFC 1071 §3 worked example", () => {
    const bytes = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    assert.equal(foldSum(onesComplementSum(bytes, 0, bytes.length)), 0xddf2);
    assert.equal(internetChecksum(bytes, 0, bytes.length), 0x220d);
  });

  it("verifies a real IPv4 header (RFC 1071 example header from Wikipedia's IPv4 article values)", () => {
    const header = parseHex("450000730000400040110000c0a80001c0a800c7");
    const sum = internetChecksum(header, 0, 20);
    assert.equal(sum, 0xb861);
    header[10] = sum >> 8;
    header[11] = sum & 0xff;
    assert.ok(checksumVerifies(header, 0, 20));
  });

  it("pads an odd final byte with zero and sums ranges incrementally", () => {
    const bytes = Uint8Array.of(1, 2, 3, 4, 5);
    assert.equal(onesComplementSum(bytes, 0, 5), 0x0102 + 0x0304 + 0x0500);
    const whole = onesComplementSum(bytes, 0, 4);
    assert.equal(onesComplementSum(bytes, 2, 4, onesComplementSum(bytes, 0, 2)), whole);
  });

  it("RFC 1624 incremental update equals a full recomputation", () => {
    const header = ipv4({ ttl: 64 }).over(udp()).bytes().subarray(0, 20);
    const before = (header[10]! << 8) | header[11]!;
    const oldWord = (header[8]! << 8) | header[9]!;
    header[8] = 63;
    const newWord = (header[8]! << 8) | header[9]!;
    header[10] = 0;
    header[11] = 0;
    assert.equal(updateChecksum(before, oldWord, newWord), internetChecksum(header, 0, 20));
  });

  it("computes the pseudo-header over buffer offsets without copying", () => {
    const bytes = stack(ipv4({ src: "10.77.0.1", dst: "10.77.0.2" }), udp(), raw("abc")).bytes();
    const pseudo = pseudoHeaderSumAt(bytes, 12, 16, 4, 17, bytes.length - 20);
    assert.ok(checksumVerifies(bytes, 20, bytes.length, pseudo));
    const bytes6 = stack(ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }), udp(), raw("abc")).bytes();
    const pseudo6 = pseudoHeaderSumAt(bytes6, 8, 24, 16, 17, bytes6.length - 40);
    assert.ok(checksumVerifies(bytes6, 40, bytes6.length, pseudo6));
  });
});

describe("address text", () => {
  it("formats IPv6 in RFC 5952 canonical form", () => {
    for (const [text, canonical] of [
      ["fd00:77:0:0:0:0:0:1", "fd00:77::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["0:0:0:0:0:0:0:0", "::"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["::ffff:10.77.0.1", "::ffff:10.77.0.1"],
      ["FE80::A", "fe80::a"],
    ]) {
      assert.equal(formatIpv6(parseIpv6(text!)), canonical);
    }
  });

  it("rejects malformed addresses with a coded error", () => {
    for (const parse of [() => parseIpv4("10.77.0.256"), () => parseIpv6("fd00::1::2"), () => parseMac("02:00")]) {
      assert.throws(parse, (e) => isQoelabError(e) && e.code === "PACKET_BAD_ADDRESS");
    }
  });
});

/** Every defined field the builder was given appears unchanged in the decoded layer. */
function assertFieldsKept(built: AnyLayer, decoded: AnyLayer | undefined, where: string): void {
  assert.ok(decoded, `${where}: layer ${built.type} missing after decode`);
  assert.equal(decoded.type, built.type, where);
  for (const [key, value] of Object.entries(built.fields)) {
    if (value === undefined) continue;
    const got: unknown = (decoded.fields as unknown as Record<string, unknown>)[key];
    if (key === "extensions" && Array.isArray(value)) {
      // Built extensions leave nextHeader/length to the encoder: compare type and data.
      assert.deepEqual(
        (got as { type: number; data: Uint8Array }[]).map((e) => [e.type, e.data]),
        value.map((e: { type: number; data: Uint8Array }) => [e.type, e.data]),
        `${where}: ${built.type}.${key}`,
      );
      continue;
    }
    assert.deepEqual(got, value, `${where}: ${built.type}.${key}`);
  }
}

describe("layers round-trip", () => {
  it("decode(encode(x)) keeps every field the builder set, for every layer of the corpus", () => {
    for (const packet of layerCorpus()) {
      const decoded = decodePacket(packet.bytes(), packet.linkType);
      const where = decoded.summary();
      assert.equal(decoded.layers.length, packet.layers.length, `${where}: layer count`);
      packet.layers.forEach((layer, i) => {
        assertFieldsKept(layer, decoded.layers[i], where);
      });
    }
  });

  it("encode(decode(bytes)) = bytes, and a decoded packet re-decodes to the same layers", () => {
    for (const packet of layerCorpus()) {
      const bytes = packet.bytes();
      const decoded = decodePacket(bytes, packet.linkType);
      assert.deepEqual(decoded.bytes(), bytes, decoded.summary());
      assert.deepEqual(decodePacket(decoded.bytes(), packet.linkType).layers, decoded.layers);
    }
  });

  it("builds the brief's example and fills lengths, protocol numbers and checksums", () => {
    const packet = ether({ dst: "02:00:00:00:00:02" })
      .over(ipv4({ dst: "10.77.0.2" }))
      .over(udp({ dport: 5004 }))
      .over(raw(new Uint8Array(172)));
    assert.equal(packet.summary(), "Ether / IP 10.77.0.1 > 10.77.0.2 / UDP 5004 > 5004 len=172 / Raw 172 bytes");
    const decoded = decodePacket(packet.bytes(), LinkType.ETHERNET);
    assert.equal(decoded.get("Ether")?.fields.type, 0x0800);
    assert.equal(decoded.get("IPv4")?.fields.protocol, 17);
    assert.equal(decoded.get("IPv4")?.fields.totalLength, 20 + 8 + 172);
    assert.equal(decoded.get("IPv4")?.checksumStatus, "good");
    assert.equal(decoded.get("UDP")?.fields.length, 180);
    assert.equal(decoded.get("UDP")?.checksumStatus, "good");
    assert.deepEqual(decoded.anomalies, []);
  });

  it("keeps explicitly wrong values so bad packets can be crafted", () => {
    const packet = stack(
      ether(),
      ipv4({ checksum: 0x1234, totalLength: 99 }),
      tcp({ checksum: 0xdead, dataOffset: 5 }),
    );
    const decoded = decodePacket(packet.bytes(), LinkType.ETHERNET);
    assert.equal(decoded.get("IPv4")?.fields.checksum, 0x1234);
    assert.deepEqual(codes(decoded), ["bad-checksum", "bad-length"]);
  });

  it("show() labels every layer with its TCP/IP and OSI layer and lists every field", () => {
    const text = stack(ether(), vlan({ vlan: 7 }), ipv6(), tcp({ options: [tcpOption.mss(1460)] })).show();
    assert.match(text, /^###\[ Ethernet \]### \(TCP\/IP: link, OSI 2\)$/m);
    assert.match(text, /^###\[ 802\.1Q \]### \(TCP\/IP: link, OSI 2\)$/m);
    assert.match(text, /^###\[ IPv6 \]### \(TCP\/IP: internet, OSI 3\)$/m);
    assert.match(text, /^###\[ TCP \]### \(TCP\/IP: transport, OSI 4\)$/m);
    assert.match(text, /nextHeader\s+= 6 {2}\(TCP\)/);
    assert.match(text, /checksum\s+= 0x[0-9a-f]{4} {2}\(good\)/);
    assert.match(text, /options\[0\]\s+= MSS {2}\(1460\)/);
    assert.match(text, /flags\s+= 0x002 {2}\(S \(SYN\)\)/);
  });

  it("summary() reads like Scapy/tshark, quoting ICMP errors in brackets", () => {
    assert.equal(
      stack(ether(), ipv4(), icmp({ type: 3, code: 3 }), ipv4(), udp({ sport: 1, dport: 9 })).summary(),
      "Ether / IP 10.77.0.1 > 10.77.0.2 / ICMP dest-unreach port-unreachable / [IP 10.77.0.1 > 10.77.0.2 / UDP 1 > 9 len=0]",
    );
    assert.equal(
      stack(ether(), ipv6(), icmpv6({ id: 3, seq: 4 })).summary(),
      "Ether / IPv6 fd00:77::1 > fd00:77::2 / ICMPv6 echo-request id=3 seq=4",
    );
    assert.equal(
      stack(ether(), ipv4(), tcp({ flags: "SA", seq: 5, ack: 9, window: 100 })).summary(),
      "Ether / IP 10.77.0.1 > 10.77.0.2 / TCP 49152 > 80 [SA] seq=5 ack=9 win=100",
    );
  });
});

function codes(packet: Packet): AnomalyCode[] {
  return [...new Set(packet.anomalies.map((a) => a.code))].sort();
}

/** Header end of the non-quoted, non-application layers: cutting before it must be flagged. */
function headerEnd(packet: Packet): number {
  let end = 0;
  for (const layer of packet.layers) {
    if (layer.quoted || ["Raw", "Padding", "RTP", "RTCP"].includes(layer.type)) continue;
    end = Math.max(end, (layer.offset ?? 0) + (layer.headerLength ?? 0));
  }
  return end;
}

describe("malformed input gives anomalies, never throws", () => {
  it("truncating every corpus packet at every byte: flagged, and encode(decode) still gives the bytes", () => {
    let cases = 0;
    for (const packet of layerCorpus()) {
      const bytes = packet.bytes();
      const full = decodePacket(bytes, packet.linkType);
      const needed = headerEnd(full);
      // Cut where a UDP tunnel header starts, nothing of it is captured: as tshark, the datagram
      // is not read as the tunnel's (its payload is empty), so there is nothing to flag.
      const tunnelStarts = full.layers.filter((l) => layerDef(l.type).udpPorts !== undefined).map((l) => l.offset);
      for (let cut = 0; cut < bytes.length; cut++) {
        const part = bytes.subarray(0, cut);
        const decoded = decodePacket(part, packet.linkType, { wireLength: bytes.length });
        cases++;
        assert.deepEqual(decoded.bytes(), part, `${full.summary()} cut at ${cut}`);
        if (cut < needed && !tunnelStarts.includes(cut)) {
          assert.ok(decoded.anomalies.length > 0, `${full.summary()} cut at ${cut} < ${needed}: no anomaly`);
        }
        decoded.show();
        decoded.summary();
      }
    }
    assert.ok(cases > 2000, `only ${cases} cases`);
  });

  /** What is absurd, the anomaly it raises, and the layers after an Ethernet header (or a frame of another link). */
  const absurd: [string, AnomalyCode, (Packet | AnyLayer)[] | { frame: Uint8Array; linkType: number }][] = [
    ["IPv4 IHL 2", "bad-length", [ipv4({ ihl: 2 }), udp()]],
    ["IPv4 IHL 15 without options", "truncated", [ipv4({ ihl: 15 }), udp()]],
    ["IPv4 total length 65535", "bad-length", [ipv4({ totalLength: 65535 }), udp()]],
    ["IPv4 total length 10", "bad-length", [ipv4({ totalLength: 10 }), udp()]],
    ["IPv4 version 5", "bad-version", [ipv4({ version: 5 }), udp()]],
    [
      "IPv4 option length 0",
      "bad-option",
      [ipv4({ options: [{ type: 7, data: Uint8Array.of(0, 0, 0), raw: true }] }), udp()],
    ],
    [
      "IPv4 option length 255",
      "bad-option",
      [ipv4({ options: [{ type: 68, data: Uint8Array.of(255, 5, 0), raw: true }] }), udp()],
    ],
    ["IPv4 unknown option", "unknown-option", [ipv4({ options: [{ type: 222, data: Uint8Array.of(1, 2) }] })]],
    ["TCP data offset 3", "bad-length", [ipv4(), tcp({ dataOffset: 3 })]],
    ["TCP data offset 15", "bad-length", [ipv4(), tcp({ dataOffset: 15 })]],
    [
      "TCP option length 0",
      "bad-option",
      [ipv4(), tcp({ options: [{ kind: 2, data: Uint8Array.of(0, 5, 0xb4), raw: true }] })],
    ],
    [
      "TCP MSS option of length 5",
      "bad-option",
      [ipv4(), tcp({ options: [{ kind: 2, data: Uint8Array.of(5, 0xb4, 1) }] })],
    ],
    ["TCP unknown option", "unknown-option", [ipv4(), tcp({ options: [tcpOption.other(77, Uint8Array.of(1, 2))] })]],
    ["UDP length 0", "bad-length", [ipv4(), udp({ length: 0 })]],
    ["UDP length 65535", "bad-length", [ipv4(), udp({ length: 65535 })]],
    ["IPv6 payload length 65535", "bad-length", [ipv6({ payloadLength: 65535 }), udp()]],
    ["IPv6 version 4", "bad-version", [ipv6({ version: 4 }), udp()]],
    [
      "IPv6 hop-by-hop length 255",
      "bad-length",
      [ipv6({ extensions: [{ type: 0, length: 255, data: new Uint8Array(6) }] }), udp()],
    ],
    [
      "ten IPv6 extension headers",
      "too-deep",
      [ipv6({ extensions: Array.from({ length: 10 }, () => ipv6Extension.destination()) }), udp()],
    ],
    [
      "ND option length 0",
      "bad-option",
      [ipv6(), icmpv6({ type: 135, target: "fd00:77::2" }), raw(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0))],
    ],
    ["ICMP bad checksum", "bad-checksum", [ipv4(), icmp({ checksum: 1 })]],
    ["ICMPv6 bad checksum", "bad-checksum", [ipv6(), icmpv6({ checksum: 1 })]],
    ["nine stacked VLAN tags", "too-deep", [...Array.from({ length: 9 }, () => vlan()), ipv4()]],
    [
      "bytes after a raw IP packet",
      "trailing-bytes",
      {
        frame: stack(ipv4({ totalLength: 28 }), udp({ length: 8 }), raw(new Uint8Array(4))).bytes(),
        linkType: LinkType.RAW,
      },
    ],
    [
      "UDP length shorter than the IP payload",
      "trailing-bytes",
      { frame: stack(ipv4(), udp({ length: 9 }), raw(new Uint8Array(4))).bytes(), linkType: LinkType.RAW },
    ],
    [
      "ARP with hardware length 255",
      "truncated",
      { frame: stack(ether({ type: 0x0806 }), raw(parseHex("00010800ff040001"))).bytes(), linkType: LinkType.ETHERNET },
    ],
  ];

  for (const [name, code, parts] of absurd) {
    it(`${name}: ${code}`, () => {
      const { frame, linkType } = Array.isArray(parts)
        ? { frame: stack(ether(), ...parts).bytes(), linkType: LinkType.ETHERNET }
        : parts;
      const decoded = decodePacket(frame, linkType);
      assert.ok(codes(decoded).includes(code), `${name}: got ${JSON.stringify(decoded.anomalies)}`);
      assert.deepEqual(decoded.bytes(), frame);
      decoded.show();
    });
  }

  it("a seeded fuzz of the corpus (bytes flipped, cut and extended) never throws and round-trips", () => {
    let seed = 0x5eed;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const corpus = layerCorpus().map((p) => ({ bytes: p.bytes(), linkType: p.linkType }));
    for (let n = 0; n < 5000; n++) {
      const base = corpus[Math.floor(random() * corpus.length)]!;
      const bytes = base.bytes.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
      const decoded = decodePacket(cut, base.linkType, { application: false });
      assert.deepEqual(decoded.bytes(), cut, `case ${n}: ${decoded.summary()}`);
      decodePacket(cut, base.linkType).summary();
      decoded.show();
    }
  });
});
