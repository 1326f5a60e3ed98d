import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ether, ipv4, ipv6, raw, stack, udp } from "./builder.ts";
import { readCaptureBytes } from "./capture-reader.ts";
import { Dissection, dissect } from "./dissect.ts";
import { dissectReassembled, IpReassembler } from "./ip-reassembly.ts";
import { ipv6Extension } from "./layers/ipv6.ts";
import { createRecord, type PacketRecord } from "./record.ts";
import { tsharkFields } from "./test-support/tshark-fields.ts";

const REALCAPS = join(import.meta.dirname, "../../../shared/data/realcaps");

/** IPv4 fragments of an Ethernet frame holding `payload` bytes of UDP payload, `size` bytes of IP payload each. */
function ipv4Fragments(id: number, payloadBytes: number, size: number): Uint8Array[] {
  const whole = stack(ether(), ipv4({ id }), udp({ dport: 5060 }), raw({ size: payloadBytes })).bytes();
  const ipPayload = whole.subarray(34);
  const out: Uint8Array[] = [];
  for (let off = 0; off < ipPayload.length; off += size) {
    const part = ipPayload.subarray(off, Math.min(ipPayload.length, off + size));
    const more = off + size < ipPayload.length ? 1 : 0;
    const frame = stack(ether(), ipv4({ id, mf: more, fragOffset: off / 8, protocol: 17 }), raw(part)).bytes();
    out.push(frame);
  }
  return out;
}

function ipv6Fragments(id: number, payloadBytes: number, size: number): Uint8Array[] {
  const whole = stack(ether(), ipv6(), udp({ dport: 5004 }), raw({ size: payloadBytes })).bytes();
  const ipPayload = whole.subarray(54);
  const out: Uint8Array[] = [];
  for (let off = 0; off < ipPayload.length; off += size) {
    const part = ipPayload.subarray(off, Math.min(ipPayload.length, off + size));
    const more = off + size < ipPayload.length ? 1 : 0;
    const fragment = { ...ipv6Extension.fragment(off / 8, more, id), nextHeader: 17 };
    out.push(stack(ether(), ipv6({ extensions: [fragment] }), raw(part)).bytes());
  }
  return out;
}

function record(bytes: Uint8Array, tsSec = 1000): PacketRecord {
  const r = createRecord();
  r.buffer = bytes;
  r.caplen = bytes.length;
  r.origlen = bytes.length;
  r.tsSec = tsSec;
  return r;
}

function feed(reassembler: IpReassembler, frames: Uint8Array[], order: number[], times?: number[]): PacketRecord[] {
  const d = new Dissection();
  const done: PacketRecord[] = [];
  order.forEach((i, k) => {
    const out = dissectReassembled(record(frames[i]!, times?.[k] ?? 1000), d, reassembler);
    if (out !== null) done.push({ ...out, buffer: out.buffer.slice(0, out.caplen) });
  });
  return done;
}

describe("IP reassembly", () => {
  test("IPv4 out of order: the datagram comes back whole, with its UDP header", () => {
    const frames = ipv4Fragments(0x1234, 3000, 1480);
    assert.equal(frames.length, 3);
    const r = new IpReassembler();
    const done = feed(r, frames, [2, 0, 1]);
    assert.equal(done.length, 1);
    const expected = stack(ether(), ipv4({ id: 0x1234 }), udp({ dport: 5060 }), raw({ size: 3000 })).bytes();
    assert.deepEqual(done[0]!.buffer, expected);
    const d = new Dissection();
    dissect(done[0]!.buffer, 0, done[0]!.caplen, done[0]!.origlen, 1, d);
    assert.equal(d.dstPort, 5060);
    assert.equal(d.payloadLength, 3000);
    assert.equal(d.anomalies, 0);
    assert.equal(r.pending, 0);
    assert.equal(r.stats.reassembled, 1);
  });

  test("IPv6: Fragment header removed, payload length set", () => {
    const frames = ipv6Fragments(0xabcdef, 2500, 1232);
    const done = feed(new IpReassembler(), frames, [1, 2, 0]);
    assert.equal(done.length, 1);
    const expected = stack(ether(), ipv6(), udp({ dport: 5004 }), raw({ size: 2500 })).bytes();
    assert.deepEqual(done[0]!.buffer, expected);
  });

  test("RFC 5722: an overlap discards the datagram and its later fragments; an exact repeat is ignored", () => {
    const frames = ipv6Fragments(7, 2500, 1232);
    const r = new IpReassembler();
    assert.equal(feed(r, frames, [0, 0, 1, 2]).length, 1, "duplicate ignored");
    assert.equal(r.stats.duplicates, 1);
    const overlapping = ipv6Fragments(8, 2500, 1232);
    const shifted = ipv6Fragments(8, 2500, 1224); // second fragment starts 8 bytes earlier
    const r2 = new IpReassembler();
    assert.equal(feed(r2, [overlapping[0]!, shifted[1]!, overlapping[1]!, overlapping[2]!], [0, 1, 2, 3]).length, 0);
    assert.ok(r2.stats.overlaps >= 1);
    const v4 = ipv4Fragments(9, 3000, 1480);
    const v4shift = ipv4Fragments(9, 3000, 1472);
    assert.equal(feed(new IpReassembler(), [v4[0]!, v4shift[1]!, v4[1]!, v4[2]!], [0, 1, 2, 3]).length, 0);
  });

  test("capture-time timeout (60 s) and bounded memory", () => {
    const frames = ipv4Fragments(10, 3000, 1480);
    const r = new IpReassembler();
    assert.equal(feed(r, frames, [0, 1, 2], [1000, 1030, 1061]).length, 0);
    assert.equal(r.stats.timedOut, 1);
    const small = new IpReassembler({ maxDatagrams: 2 });
    for (let id = 0; id < 5; id++) feed(small, ipv4Fragments(100 + id, 3000, 1480), [0]);
    assert.equal(small.pending, 2);
    assert.equal(small.stats.evicted, 3);
    const bytes = new IpReassembler({ maxBytes: 4000 });
    for (let id = 0; id < 5; id++) feed(bytes, ipv4Fragments(200 + id, 3000, 1480), [0]);
    assert.ok(bytes.pending <= 3);
  });

  test("unfragmented packets pass through untouched (same record object)", () => {
    const bytes = stack(ether(), ipv4(), udp(), raw("x")).bytes();
    const r = record(bytes);
    assert.equal(dissectReassembled(r, new Dissection(), new IpReassembler()), r);
  });

  const FILES = [
    "tcp/anomalies/peafowl-http_ip_fragmented_out_of_order.pcap",
    "odd/pcapplusplus/ip4_fragments.pcap",
    "odd/pcapplusplus/ip6_fragments.pcap",
    "odd/pcapplusplus/frag_with_padding.pcap",
    "odd/pcapplusplus/packet-examples/IPv4Frag.pcap",
    "odd/suricata-verify/frag-eth-vlan-ipv6-tcp.pcap",
    "odd/misc/cs-ipv6_fragments.pcapng",
  ].filter((f) => existsSync(join(REALCAPS, f)));

  test("real captures: the frames where tshark (ip.defragment on) shows a transport header, with its ports and length", () => {
    let reassembledFrames = 0;
    for (const name of FILES) {
      const file = join(REALCAPS, name);
      const fields = ["tcp.srcport", "tcp.dstport", "tcp.len", "udp.srcport", "udp.dstport", "udp.length"];
      const theirs = tsharkFields(file, fields, ["-E", "occurrence=f"]);
      const d = new Dissection();
      const reassembler = new IpReassembler();
      let i = 0;
      readCaptureBytes(new Uint8Array(readFileSync(file)), (rec) => {
        const out = dissectReassembled(rec, d, reassembler);
        const row = theirs[i++]!;
        const ours = ["", "", "", "", "", ""];
        if (out !== null && d.payloadOffset >= 0) {
          if (d.ipProto === 6) ours.splice(0, 3, String(d.srcPort), String(d.dstPort), String(d.payloadLength));
          if (d.ipProto === 17) ours.splice(3, 3, String(d.srcPort), String(d.dstPort), String(d.udpLength));
          if (out !== rec) reassembledFrames++;
        }
        assert.deepEqual(ours, row, `${name} frame ${i}`);
      });
      assert.equal(i, theirs.length, name);
    }
    assert.ok(reassembledFrames >= 20, `${reassembledFrames} reassembled frames`);
  });
});
