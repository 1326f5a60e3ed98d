import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readUdpPayloads, tsharkFields } from "../test-support/udp-payloads.ts";
import {
  type DecodedRtcpPacket,
  decodeRtcp,
  encodeRtcp,
  encodeRtcpPacket,
  NTP_UNIX_EPOCH_OFFSET,
  ntpMiddle32,
  ntpToUnixSeconds,
  type RtcpPacketFields,
  RtcpPacketType,
  rtcpRoundTripSeconds,
  SdesItemType,
  unixSecondsToNtp,
} from "./rtcp.ts";

const CAPTURES = ["test-data/sip/baresip-call.pcap", "test-data/sip/baresip-call-loss5.pcap"];

const sr: RtcpPacketFields = {
  kind: "sr",
  ssrc: 0x11111111,
  sender: { ntpSeconds: 3_900_000_000, ntpFraction: 0x80000000, rtpTimestamp: 160, packetCount: 50, octetCount: 8000 },
  reports: [
    {
      ssrc: 0x22222222,
      fractionLost: 25,
      cumulativeLost: 1234,
      extendedHighestSequence: 0x0001ffff,
      jitter: 17,
      lastSr: 0x12345678,
      delaySinceLastSr: 65536,
    },
    {
      ssrc: 0x33333333,
      fractionLost: 0,
      cumulativeLost: -3,
      extendedHighestSequence: 5,
      jitter: 0,
      lastSr: 0,
      delaySinceLastSr: 0,
    },
  ],
};

const sdes: RtcpPacketFields = {
  kind: "sdes",
  chunks: [
    {
      source: 0x11111111,
      items: [
        { type: SdesItemType.CNAME, text: "alice@10.77.0.1" },
        { type: SdesItemType.NAME, text: "Alice Ångström" },
        { type: SdesItemType.EMAIL, text: "alice@example.org" },
        { type: SdesItemType.PHONE, text: "+1 555 0100" },
        { type: SdesItemType.LOC, text: "lab" },
        { type: SdesItemType.TOOL, text: "qoelab" },
        { type: SdesItemType.NOTE, text: "on a call" },
        { type: SdesItemType.PRIV, prefix: "x-ext", text: "value" },
      ],
    },
    { source: 0x44444444, items: [{ type: SdesItemType.CNAME, text: "abc" }] },
    { source: 0x55555555, items: [] },
  ],
};

const bye: RtcpPacketFields = { kind: "bye", sources: [0x11111111, 0x66666666], reason: "leaving" };
const app: RtcpPacketFields = {
  kind: "app",
  subtype: 3,
  ssrc: 0x11111111,
  name: "PING",
  data: Uint8Array.of(1, 2, 3, 4),
};
const rr: RtcpPacketFields = { kind: "rr", ssrc: 0x77777777, reports: [] };
const nack: RtcpPacketFields = {
  kind: "rtpfb",
  format: 1,
  senderSsrc: 1,
  mediaSsrc: 2,
  fci: Uint8Array.of(0, 10, 0, 3),
};
const pli: RtcpPacketFields = { kind: "psfb", format: 1, senderSsrc: 1, mediaSsrc: 2, fci: new Uint8Array(0) };
const xr: RtcpPacketFields = { kind: "xr", ssrc: 9, blocks: Uint8Array.of(4, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8) };

function stripHeader(packet: DecodedRtcpPacket): RtcpPacketFields {
  if (packet.kind === "unknown") {
    return { kind: "unknown", packetType: packet.packetType, count: packet.count, body: packet.body };
  }
  const {
    version: _v,
    packetType: _t,
    count: _c,
    lengthWords: _l,
    paddingLength: _p,
    offset: _o,
    byteLength: _b,
    ...fields
  } = packet;
  return fields as RtcpPacketFields;
}

function normalize(fields: RtcpPacketFields): unknown {
  return JSON.parse(JSON.stringify(fields, (_k, v) => (v instanceof Uint8Array ? [...v] : v)));
}

describe("RTCP encode/decode", () => {
  test("compound SR + SDES (all item types) + BYE with reason round trips", () => {
    const bytes = encodeRtcp([sr, sdes, bye]);
    const decoded = decodeRtcp(bytes, 0, bytes.length);
    assert.deepEqual(decoded.anomalies, []);
    assert.equal(decoded.compoundValid, true);
    assert.equal(decoded.headerLength, bytes.length);
    assert.deepEqual(
      decoded.packets.map((p) => p.packetType),
      [200, 202, 203],
    );
    assert.deepEqual(decoded.packets.map(stripHeader).map(normalize), [sr, sdes, bye].map(normalize));
    assert.deepEqual(encodeRtcp(decoded.packets.map(stripHeader)), bytes);
    const first = decoded.packets[0]!;
    assert.equal(first.count, 2);
    assert.equal(first.lengthWords, (4 + 4 + 20 + 48) / 4 - 1);
  });

  test("RR, APP, RTPFB, PSFB, XR and unknown types round trip with raw bodies", () => {
    const unknown: RtcpPacketFields = { kind: "unknown", packetType: 210, count: 7, body: Uint8Array.of(1, 2, 3, 4) };
    const packets = [rr, app, nack, pli, xr, unknown];
    const bytes = encodeRtcp(packets);
    const decoded = decodeRtcp(bytes, 0, bytes.length);
    assert.deepEqual(decoded.anomalies, []);
    assert.deepEqual(decoded.packets.map(stripHeader).map(normalize), packets.map(normalize));
    assert.deepEqual(
      decoded.packets.map((p) => p.packetType),
      [201, 204, 205, 206, 207, 210],
    );
  });

  test("the RFC 3550 §6.4.1 sender-report layout at exact offsets", () => {
    const bytes = encodeRtcpPacket(sr);
    assert.equal(bytes[0], 0x82); // V=2, P=0, RC=2
    assert.equal(bytes[1], RtcpPacketType.SR);
    assert.equal((bytes[2]! << 8) | bytes[3]!, bytes.length / 4 - 1);
    // first report block starts at 28: fraction lost at 32, cumulative lost 33..35
    assert.equal(bytes[32], 25);
    assert.equal((bytes[33]! << 16) | (bytes[34]! << 8) | bytes[35]!, 1234);
    // -3 as signed 24-bit in the second block
    assert.deepEqual([...bytes.subarray(57, 60)], [0xff, 0xff, 0xfd]);
  });

  test("padding on the last packet", () => {
    const bytes = encodeRtcp([rr, bye], 8);
    const decoded = decodeRtcp(bytes, 0, bytes.length);
    assert.deepEqual(decoded.anomalies, []);
    assert.equal(decoded.packets[1]?.paddingLength, 8);
    assert.equal(decoded.packets[1]?.kind, "bye");
  });

  test("NTP helpers", () => {
    const t = 1_700_000_000.25;
    const ntp = unixSecondsToNtp(t);
    assert.equal(ntp.seconds, 1_700_000_000 + NTP_UNIX_EPOCH_OFFSET);
    assert.equal(ntp.fraction, 0x40000000);
    assert.equal(ntpToUnixSeconds(ntp.seconds, ntp.fraction), t);
    assert.equal(ntpMiddle32(0x12345678, 0x9abcdef0), 0x56789abc);
    // A = LSR + DLSR + 0.5 s
    const rtt = rtcpRoundTripSeconds(
      {
        ssrc: 0,
        fractionLost: 0,
        cumulativeLost: 0,
        extendedHighestSequence: 0,
        jitter: 0,
        lastSr: 0x00010000,
        delaySinceLastSr: 0x00020000,
      },
      0x00038000,
    );
    assert.equal(rtt, 0.5);
  });
});

describe("RTCP compound rules and malformed input", () => {
  test("a compound starting with BYE is flagged; a lone APP is accepted (RFC 5506)", () => {
    const byeFirst = encodeRtcp([bye, sdes]);
    const decoded = decodeRtcp(byeFirst, 0, byeFirst.length);
    assert.equal(decoded.compoundValid, false);
    assert.deepEqual(
      decoded.anomalies.map((a) => a.code),
      ["bad-compound"],
    );
    assert.equal(decoded.packets.length, 2);
    const lone = encodeRtcp([app]);
    assert.equal(decodeRtcp(lone, 0, lone.length).compoundValid, true);
  });

  test("padding before the last packet is flagged", () => {
    const bytes = new Uint8Array([...encodeRtcpPacket(rr, 4), ...encodeRtcpPacket(bye)]);
    const decoded = decodeRtcp(bytes, 0, bytes.length);
    assert.equal(decoded.compoundValid, false);
    assert.ok(decoded.anomalies.some((a) => a.code === "bad-compound"));
  });

  test("every truncation of a compound packet: anomalies, never a throw", () => {
    const parts = [sr, sdes, bye, app].map((p) => encodeRtcpPacket(p));
    const bytes = encodeRtcp([sr, sdes, bye, app]);
    const boundaries = new Set<number>();
    let at = 0;
    for (const part of parts) {
      at += part.length;
      boundaries.add(at);
    }
    for (let n = 0; n < bytes.length; n++) {
      const decoded = decodeRtcp(bytes, 0, n);
      // Cut exactly between packets, the rest is a valid shorter compound.
      assert.equal(decoded.complete, boundaries.has(n), `length ${n}`);
      if (!boundaries.has(n)) {
        assert.equal(decoded.compoundValid, false);
        assert.ok(decoded.anomalies.length > 0);
      }
    }
  });

  test("bad length fields, versions, counts and item lengths", () => {
    const base = encodeRtcp([sr, sdes, bye]);
    for (let i = 0; i < base.length; i++) {
      for (const value of [0, 1, 0x1f, 0x7f, 0xff]) {
        const bytes = Uint8Array.from(base);
        bytes[i] = value;
        const decoded = decodeRtcp(bytes, 0, bytes.length);
        assert.ok(decoded.headerLength <= bytes.length);
      }
    }
    const bigCount = Uint8Array.from(base);
    bigCount[0] = 0x9f; // RC 31 in an SR with room for 2
    assert.equal(decodeRtcp(bigCount, 0, bigCount.length).anomalies[0]?.code, "bad-length");
    const v1 = Uint8Array.from(base);
    v1[0] = 0x42;
    assert.equal(decodeRtcp(v1, 0, v1.length).anomalies[0]?.code, "bad-version");
    const long = Uint8Array.from(base);
    long[3] = 0xff;
    assert.equal(decodeRtcp(long, 0, long.length).anomalies[0]?.code, "truncated");
  });
});

function hexSsrc(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/** The tshark fields of a decoded compound, in tshark's order. */
function tsharkView(packets: DecodedRtcpPacket[]): Record<string, string> {
  const lists: Record<string, string[]> = {
    "rtcp.pt": [],
    "rtcp.length": [],
    "rtcp.rc": [],
    "rtcp.sc": [],
    "rtcp.senderssrc": [],
    "rtcp.ssrc.identifier": [],
    "rtcp.ssrc.fraction": [],
    "rtcp.ssrc.cum_nr": [],
    "rtcp.ssrc.ext_high": [],
    "rtcp.ssrc.jitter": [],
    "rtcp.ssrc.lsr": [],
    "rtcp.ssrc.dlsr": [],
    "rtcp.timestamp.ntp.msw": [],
    "rtcp.timestamp.ntp.lsw": [],
    "rtcp.timestamp.rtp": [],
    "rtcp.sender.packetcount": [],
    "rtcp.sender.octetcount": [],
    "rtcp.sdes.type": [],
    "rtcp.sdes.text": [],
    "rtcp.app.name": [],
    "rtcp.app.subtype": [],
  };
  const push = (field: string, value: string | number): void => {
    lists[field]!.push(String(value));
  };
  for (const p of packets) {
    push("rtcp.pt", p.packetType);
    push("rtcp.length", p.lengthWords);
    if (p.kind === "sr" || p.kind === "rr") {
      push("rtcp.rc", p.count);
      push("rtcp.senderssrc", hexSsrc(p.ssrc));
      if (p.kind === "sr") {
        push("rtcp.timestamp.ntp.msw", p.sender.ntpSeconds);
        push("rtcp.timestamp.ntp.lsw", p.sender.ntpFraction);
        push("rtcp.timestamp.rtp", p.sender.rtpTimestamp);
        push("rtcp.sender.packetcount", p.sender.packetCount);
        push("rtcp.sender.octetcount", p.sender.octetCount);
      }
      for (const r of p.reports) {
        push("rtcp.ssrc.identifier", hexSsrc(r.ssrc));
        push("rtcp.ssrc.fraction", r.fractionLost);
        push("rtcp.ssrc.cum_nr", r.cumulativeLost);
        push("rtcp.ssrc.ext_high", r.extendedHighestSequence);
        push("rtcp.ssrc.jitter", r.jitter);
        push("rtcp.ssrc.lsr", r.lastSr);
        push("rtcp.ssrc.dlsr", r.delaySinceLastSr);
      }
    } else if (p.kind === "sdes") {
      push("rtcp.sc", p.count);
      for (const chunk of p.chunks) {
        push("rtcp.ssrc.identifier", hexSsrc(chunk.source));
        for (const item of chunk.items) {
          push("rtcp.sdes.type", item.type);
          push("rtcp.sdes.text", item.text);
        }
        push("rtcp.sdes.type", 0);
      }
    } else if (p.kind === "bye") {
      push("rtcp.sc", p.count);
      for (const source of p.sources) push("rtcp.ssrc.identifier", hexSsrc(source));
      if (p.reason != null) push("rtcp.sdes.text", p.reason);
    } else if (p.kind === "app") {
      push("rtcp.app.subtype", p.subtype);
      push("rtcp.ssrc.identifier", hexSsrc(p.ssrc));
      push("rtcp.app.name", p.name);
    }
  }
  return Object.fromEntries(Object.entries(lists).map(([k, v]) => [k, v.join("|")]));
}

describe("RTCP agrees with tshark on baresip calls", () => {
  for (const capture of CAPTURES) {
    test(capture, () => {
      const fields = Object.keys(tsharkView([]));
      const expected = tsharkFields(capture, "rtcp", fields);
      assert.ok(expected.size >= 6, `${capture}: tshark saw ${expected.size} RTCP packets`);
      const kinds = new Set<string>();
      let compared = 0;
      for (const udp of readUdpPayloads(capture)) {
        const row = expected.get(udp.frame);
        if (!row) continue;
        const decoded = decodeRtcp(udp.bytes, 0, udp.bytes.length);
        assert.equal(decoded.complete, true, `frame ${udp.frame}`);
        for (const p of decoded.packets) kinds.add(p.kind);
        assert.deepEqual(tsharkView(decoded.packets), row, `frame ${udp.frame}`);
        assert.deepEqual(encodeRtcp(decoded.packets.map(stripHeader)), udp.bytes, `frame ${udp.frame} re-encodes`);
        compared++;
      }
      assert.equal(compared, expected.size);
      // baresip sends APP PING, SR + SDES, and BYE + SDES (a compound without SR/RR first).
      for (const kind of ["app", "sr", "sdes", "bye"]) assert.ok(kinds.has(kind), `${capture} has ${kind}`);
    });
  }

  test("the lossy call's receiver reports count the lost packets tshark counts", () => {
    const capture = "test-data/sip/baresip-call-loss5.pcap";
    const reports = [];
    for (const udp of readUdpPayloads(capture)) {
      const decoded = decodeRtcp(udp.bytes, 0, udp.bytes.length);
      if (!decoded.complete || udp.bytes[0]! >> 6 !== 2 || udp.bytes[1]! < 200 || udp.bytes[1]! > 207) continue;
      for (const p of decoded.packets) if (p.kind === "sr" || p.kind === "rr") reports.push(...p.reports);
    }
    assert.ok(reports.some((r) => r.cumulativeLost > 0 && r.fractionLost > 0));
  });
});
