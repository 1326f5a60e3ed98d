import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { compileFilter, createCaptureWriter } from "../packet/index.ts";
import { analyzeCaptureFile } from "./analyze.ts";
import { createFlowEngine } from "./engine.ts";
import type { FlowsResult } from "./results.ts";
import { buildFrame, type FrameSpec, TcpScript } from "./test-support/synthetic.ts";

/**
 * `tunnels: "both"` (`--tunnels both`): a frame of a UDP tunnel counts in the tunnel's own UDP flow
 * and in the flow inside, as tshark's conversations count it; the capture's totals and its series'
 * frames and bytes count it once; shards agree with one thread. The realcaps captures with VXLAN,
 * Geneve and GTP-U are compared with tshark in realcaps-conversations.test.ts.
 */

const VXLAN_PORT = 4789;
const OUTER_HEADERS = 14 + 20 + 8 + 8;

function ipv4Checksum(bytes: Uint8Array, start: number): number {
  let sum = 0;
  for (let i = start; i < start + 20; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * `inner` (an Ethernet frame) in VXLAN (RFC 7348: flags 0x08, 24-bit VNI) in UDP from
 * 192.168.0.1:`sport` to 192.168.0.2:4789, UDP checksum 0 as VTEPs send it.
 */
function vxlanFrame(inner: Uint8Array, sport = 49999, vni = 42): Uint8Array {
  const frame = new Uint8Array(OUTER_HEADERS + inner.length);
  const view = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00], 0);
  const ipLength = frame.length - 14;
  frame[14] = 0x45;
  view.setUint16(16, ipLength);
  frame[22] = 64;
  frame[23] = 17;
  frame.set([192, 168, 0, 1, 192, 168, 0, 2], 26);
  view.setUint16(24, ipv4Checksum(frame, 14));
  view.setUint16(34, sport);
  view.setUint16(36, VXLAN_PORT);
  view.setUint16(38, ipLength - 20);
  frame[42] = 0x08;
  view.setUint32(46, vni << 8);
  frame.set(inner, OUTER_HEADERS);
  return frame;
}

interface Frame {
  bytes: Uint8Array;
  time: number;
}

const plain = (spec: FrameSpec): Frame => ({ bytes: buildFrame(spec), time: spec.time });
const tunnelled = (spec: FrameSpec): Frame => ({ bytes: vxlanFrame(buildFrame(spec)), time: spec.time });

/** A TCP connection inside VXLAN (10 frames), a VXLAN frame with an ARP request, a plain UDP datagram. */
function scenario(): Frame[] {
  const tcp = new TcpScript("10.1.0.1", "10.1.0.2", 40000, 80);
  tcp.handshake();
  tcp.data(true, 120);
  tcp.data(false, 1400);
  tcp.data(false, 1400);
  tcp.ack(true);
  const lostSeq = tcp.data(false, 1000);
  tcp.resend(false, lostSeq, 1000);
  tcp.ack(true);
  const frames = tcp.frames.map(tunnelled);
  const arp = new Uint8Array(42);
  arp.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
  frames.push({ bytes: vxlanFrame(arp), time: tcp.time + 0.5 });
  frames.push(
    plain({
      src: "10.9.0.1",
      dst: "10.9.0.2",
      sport: 5000,
      dport: 6000,
      proto: "udp",
      payload: 20,
      time: tcp.time + 1.5,
    }),
  );
  return frames;
}

async function writeFrames(path: string, frames: readonly Frame[]): Promise<void> {
  const writer = createCaptureWriter(path, { format: "pcap", linkType: 1, snaplen: 65535 });
  for (const { bytes, time } of frames) {
    const tsSec = Math.floor(time);
    writer.writePacket({ bytes, tsSec, tsNsec: Math.round((time - tsSec) * 1e6) * 1000 });
  }
  await writer.close();
}

const pairs = (result: FlowsResult): string[] =>
  result.flows.map(
    (f) =>
      `${f.proto} ${f.client.address}:${f.client.port} ${f.server.address}:${f.server.port} ${f.c2s.packets}/${f.s2c.packets}`,
  );

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

describe("flows in UDP tunnels", () => {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-tunnels-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const frames = scenario();
  const file = join(dir, "vxlan.pcap");
  const frameBytes = sum(frames.map((f) => f.bytes.length));

  test("by default a tunnelled frame is its tunnel's UDP packet only", async () => {
    await writeFrames(file, frames);
    const result = await analyzeCaptureFile(file, { workers: 1 });
    assert.deepEqual(pairs(result), [
      "udp 192.168.0.1:49999 192.168.0.2:4789 11/0",
      "udp 10.9.0.1:5000 10.9.0.2:6000 1/0",
    ]);
  });

  test('with tunnels "both" it counts in the flow inside too, and once in the capture', async () => {
    await writeFrames(file, frames);
    const result = await analyzeCaptureFile(file, { workers: 1, tunnels: "both" });
    assert.deepEqual(pairs(result), [
      "udp 192.168.0.1:49999 192.168.0.2:4789 11/0",
      "tcp 10.1.0.1:40000 10.1.0.2:80 5/5",
      "udp 10.9.0.1:5000 10.9.0.2:6000 1/0",
    ]);
    const inner = result.flows[1]!;
    assert.ok(inner.proto === "tcp");
    assert.equal(inner.handshake, true);
    assert.equal(inner.s2c.retxPackets, 1, "the resent segment inside the tunnel is a retransmission");
    assert.equal(inner.s2c.dataBytes, 3800 + 1000);
    assert.equal(result.capture.packets, frames.length);
    assert.equal(result.capture.udpPackets, frames.length);
    assert.equal(result.capture.tcpPackets, 0, "the frames are UDP on the wire");
    assert.equal(sum(result.series.packets), frames.length);
    assert.equal(sum(result.series.bytes), frameBytes);
    assert.equal(sum(result.series.retransmissions), 1, "the inner flow's retransmission shows in the capture series");
  });

  test("2 shards give what one thread gives", async () => {
    await writeFrames(file, frames);
    const one = await analyzeCaptureFile(file, { workers: 1, tunnels: "both", series: true });
    const two = await analyzeCaptureFile(file, { workers: 2, tunnels: "both", series: true });
    assert.deepEqual(two.flows, one.flows);
    assert.deepEqual(two.capture, one.capture);
    assert.deepEqual(two.series, one.series);
  });

  test("the capture filter reads the frame as tcpdump does: outer headers", () => {
    const run = (expression: string) => {
      const engine = createFlowEngine({ tunnels: "both", filter: compileFilter(expression) });
      frames.forEach(({ bytes, time }, index) => {
        const tsSec = Math.floor(time);
        engine.push({
          buffer: bytes,
          offset: 0,
          caplen: bytes.length,
          origlen: bytes.length,
          tsSec,
          tsNsec: Math.round((time - tsSec) * 1e6) * 1000,
          linkType: 1,
          interfaceId: 0,
          index,
          fileOffset: 0,
        });
      });
      return engine.finish();
    };
    const outer = run("udp port 4789");
    assert.deepEqual(
      pairs(outer).map((p) => p.split(" ")[0]),
      ["udp", "tcp"],
    );
    assert.equal(outer.capture.filteredOut, 1, "the plain datagram, once");
    const tcp = run("tcp");
    assert.deepEqual(pairs(tcp), [], "a VXLAN frame is UDP to a capture filter");
    assert.equal(tcp.capture.filteredOut, frames.length, "each rejected frame counts once");
  });
});
