import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FlowEngineOptions } from "./engine.ts";
import { clientByPorts, createFlowEngine } from "./engine.ts";
import type { FlowsResult, TcpFlowResult, UdpFlowResult } from "./results.ts";
import { type FrameSpec, TcpScript, toRecord } from "./test-support/synthetic.ts";

function run(frames: readonly FrameSpec[], options: FlowEngineOptions = {}, snaplen = 65535): FlowsResult {
  const engine = createFlowEngine(options);
  frames.forEach((f, i) => {
    engine.push(toRecord(f, i, snaplen));
  });
  return engine.finish();
}

function near(actual: number | null | undefined, expected: number, what: string): void {
  assert.ok(
    actual !== null && actual !== undefined && Math.abs(actual - expected) < 1e-6,
    `${what}: ${actual} ≠ ${expected}`,
  );
}

/** Asserts the fields `expected` names all at once, so a failure shows every one that differs. */
function assertFields<T extends object>(actual: T, expected: Partial<T>, what: string): void {
  const seen = Object.fromEntries(Object.keys(expected).map((k) => [k, actual[k as keyof T]]));
  assert.deepEqual(seen, expected, what);
}

function tcp(result: FlowsResult, i = 0): TcpFlowResult {
  const f = result.flows[i];
  assert.ok(f && f.proto === "tcp", `flow ${i} is TCP`);
  return f;
}

describe("TCP statistics (tstat log_tcp_complete semantics)", () => {
  it("counts a clean request/response connection", () => {
    const s = new TcpScript();
    s.handshake();
    s.data(true, 100); // request
    s.ack(false, 0.002);
    s.data(false, 1448);
    s.data(false, 1448);
    s.ack(true, 0.003); // acks both: sample for the 2nd segment
    s.data(false, 1448);
    s.ack(true, 0.004);
    s.fin(false);
    s.fin(true);
    s.ack(false);
    const f = tcp(run(s.frames));
    assert.equal(f.client.address, "10.77.1.2");
    assert.equal(f.server.port, 80);
    assertFields(f, { handshake: true, state: "complete", tstatLog: "log_tcp_complete" }, "flow");
    assertFields(f.c2s, { packets: 6, pureAckPackets: 3, ackPackets: 5, uniqueBytes: 100, syn: 1, fin: 1 }, "c2s");
    assertFields(
      f.s2c,
      { packets: 7, pureAckPackets: 2, ackPackets: 7, uniqueBytes: 3 * 1448, dataPackets: 3, retxPackets: 0, syn: 1 },
      "s2c",
    );
    // RTT as tstat samples it: the SYN and FIN count (each takes a sequence number). c2s: SYN
    // (1 ms), request (2 ms), FIN (1 ms); s2c: SYN/ACK (1 ms), 2nd segment (3 ms), 3rd (4 ms), FIN.
    // tstat's mean is sum / (n + 0.0001) and its std the sample std (0 for n ≤ 2).
    assert.equal(f.c2s.rtt.count, 3);
    near(f.c2s.rtt.mean, 4 / 3.0001, "f.c2s.rtt.mean");
    near(f.c2s.rtt.max, 2, "f.c2s.rtt.max");
    assert.equal(f.s2c.rtt.count, 4);
    near(f.s2c.rtt.min, 1, "rtt min");
    near(f.s2c.rtt.max, 4, "rtt max");
    near(f.s2c.rtt.std, 1.5, "f.s2c.rtt.std");
    // Options from the SYNs; windows scaled by 2^7 outside SYNs, the minimum is the SYN's (unscaled).
    assertFields(
      f.c2s,
      {
        mss: 1460,
        windowScale: 7,
        sackPermitted: true,
        timestampsOption: true,
        windowMax: 65535 * 128,
        windowMin: 64240,
        firstPayloadMs: 3,
      },
      "c2s options",
    );
    // inflightInitial: sent before the client acknowledged any data.
    assertFields(
      f.s2c,
      { segmentMin: 1448, segmentMax: 1448, inflightMax: 2 * 1448, inflightInitial: 2 * 1448 },
      "s2c segments",
    );
  });

  it("classifies fast retransmit, RTO, unnecessary RTO and network duplicates", () => {
    const s = new TcpScript();
    s.handshake();
    const d1 = s.data(false, 1000);
    s.ack(true, 0.001); // RTT sample 1 ms
    const lost = s.skip(false, 1000); // D2 lost before the probe
    s.data(false, 1000, 0.0001);
    s.ack(true, 0.0001, (d1 + 1000) >>> 0);
    s.data(false, 1000, 0.0001);
    s.ack(true, 0.0001, (d1 + 1000) >>> 0);
    const d5 = s.data(false, 1000, 0.0001);
    s.ack(true, 0.0001, (d1 + 1000) >>> 0);
    s.ack(true, 0.0001, (d1 + 1000) >>> 0); // 3 duplicate ACKs
    s.resend(false, lost, 1000, 0.005, { ipId: 400 }); // fills the hole after 3 dup ACKs → fast retransmit
    s.ack(true, 0.001); // acks everything
    s.resend(false, d5, 1000, 0.3, { ipId: 500 }); // already acked, ΔT > RTO → unnecessary RTO
    const d6 = s.data(false, 1000, 0.001);
    s.resend(false, d6, 1000, 0.4, { ipId: 600 }); // not acked, ΔT > RTO → RTO
    s.ack(true, 0.001);
    s.data(false, 1000, 0.001, { ipId: 77 });
    const d7 = (s.serverSeq - 1000) >>> 0;
    // Same IP id, but within the mean RTT of the previous anomaly: tstat files it with that one (RTO).
    s.resend(false, d7, 1000, 0.0001, { ipId: 77 });
    s.ack(true, 0.001);
    const f = tcp(run(s.frames));
    assertFields(
      f.s2c,
      {
        dataPackets: 10,
        uniqueBytes: 7000,
        dataBytes: 10000,
        outOfSequencePackets: 1,
        retxPackets: 3,
        retxBytes: 3000,
        fastRetransmit: 1,
        unnecessaryRto: 1,
        rto: 2,
        networkDuplicate: 0,
        reordering: 0,
        unknown: 0,
        flowControl: 0,
        unnecessaryFastRetransmit: 0,
      },
      "s2c",
    );
    // Samples: the SYN/ACK and D1; none from the ACKs of retransmitted records (Karn).
    assert.equal(f.s2c.rtt.count, 2);
    assert.equal(f.state, "open");
  });

  it("sees reordering when a hole is filled within the minimum RTT", () => {
    const s = new TcpScript();
    s.handshake(0.01); // handshake ACK gives no data sample; use a data exchange for RTT
    s.data(false, 500);
    s.ack(true, 0.01); // RTT 10 ms
    const gap = s.skip(false, 500);
    s.data(false, 500, 0.001);
    s.resend(false, gap, 500, 0.001); // 1 ms later < 10 ms
    const f = tcp(run(s.frames));
    assertFields(f.s2c, { reordering: 1, outOfSequencePackets: 1, retxPackets: 0 }, "s2c");
  });

  it("keeps flows without a handshake, marked, and splits reused ports", () => {
    const s = new TcpScript();
    s.data(true, 10);
    s.data(false, 20);
    s.rst(true);
    const r = new TcpScript("10.77.1.2", "10.77.2.2", 40000, 80, s.time + 1, 9000, 9999);
    r.handshake();
    r.fin(true);
    r.fin(false);
    r.ack(true);
    const late = new TcpScript("10.77.1.2", "10.77.2.2", 40000, 80, r.time + 1, 424242, 1);
    late.handshake();
    const result = run([...s.frames, ...r.frames, ...late.frames]);
    assert.equal(result.flows.length, 3);
    const [a, b, c] = [tcp(result, 0), tcp(result, 1), tcp(result, 2)];
    assertFields(a, { handshake: false, tstatLog: null, state: "reset" }, "first flow");
    assert.equal(a.c2s.rst, 1);
    assertFields(b, { handshake: true, state: "complete" }, "second flow");
    assert.equal(b.c2s.packets, 4);
    assertFields(c, { state: "open", tstatLog: "log_tcp_nocomplete" }, "third flow");
  });

  it("unwraps sequence numbers across 2^32", () => {
    const s = new TcpScript("10.77.1.2", "10.77.2.2", 40000, 80, 1_700_000_000, 1, 0xffffff00);
    s.handshake();
    for (let i = 0; i < 4; i++) {
      s.data(false, 100);
      s.ack(true);
    }
    const f = tcp(run(s.frames));
    assert.equal(f.s2c.uniqueBytes, 400);
    assert.equal(f.s2c.retxPackets + f.s2c.outOfSequencePackets, 0);
    assert.equal(f.s2c.rtt.count, 5); // the SYN/ACK and the four segments
  });
});

describe("UDP flows, time series, eviction, bad input", () => {
  it("counts UDP per direction with inter-arrival and size statistics", () => {
    const s = new TcpScript("10.77.1.2", "10.77.2.2", 5004, 5006);
    s.udp(true, 160, 0.02);
    s.udp(true, 160, 0.02);
    s.udp(false, 80, 0.01);
    s.udp(true, 200, 0.02);
    const result = run(s.frames);
    const f = result.flows[0] as UdpFlowResult;
    assert.equal(f.proto, "udp");
    assertFields(f.c2s, { packets: 3, payloadBytes: 520 }, "c2s");
    assert.equal(f.s2c.packets, 1);
    assert.equal(f.c2s.interArrival.count, 2);
    near(f.c2s.interArrival.mean, 25, "f.c2s.interArrival.mean");
    assert.equal(f.c2s.size.max, 200);
  });

  it("bins the capture into windows with active flows and RTT means", () => {
    const s = new TcpScript("10.77.1.2", "10.77.2.2", 40000, 80, 1_700_000_000.2);
    s.handshake();
    s.data(false, 1000);
    s.ack(true, 0.004);
    s.data(false, 1000, 1.0); // next window
    s.ack(true, 0.006);
    const result = run(s.frames, { window: 1, series: true });
    assert.deepEqual(result.series.start, [1_700_000_000, 1_700_000_001]);
    assert.deepEqual(result.series.packets, [5, 2]);
    assert.deepEqual(result.series.activeFlows, [1, 1]);
    assert.deepEqual(result.series.newFlows, [1, 0]);
    // Window 0: the handshake's two samples (1 ms each) and the data's 4 ms.
    near(result.series.rttMean[0], 2, "result.series.rttMean[0]");
    near(result.series.rttMean[1], 6, "result.series.rttMean[1]");
    const flowSeries = tcp(result).series!;
    assert.deepEqual(flowSeries.packets, [5, 2]);
  });

  it("evicts idle flows, streams them, and keeps memory bounded by live flows", () => {
    const engine = createFlowEngine({ udpIdleTimeout: 5, onFlow: () => streamed++ });
    let streamed = 0;
    let maxLive = 0;
    let i = 0;
    for (let k = 0; k < 200; k++) {
      const s = new TcpScript("10.77.1.2", "10.77.2.2", 10000 + k, 53, 1_700_000_000 + k * 10);
      s.udp(true, 40);
      s.udp(false, 90);
      for (const frame of s.frames) engine.push(toRecord(frame, i++));
      maxLive = Math.max(maxLive, engine.liveFlows);
    }
    const result = engine.finish();
    assert.ok(maxLive <= 2, `live flows stayed ≤ 2 (saw ${maxLive})`);
    assert.equal(streamed, 200);
    assert.equal(result.flows.length, 0);
    assert.equal(result.capture.streamedFlows, 200);
    assert.equal(result.capture.udpPackets, 400);
  });

  it("counts truncated and corrupt packets without failing", () => {
    const s = new TcpScript();
    s.handshake();
    s.data(true, 100);
    const engine = createFlowEngine();
    s.frames.forEach((f, i) => {
      engine.push(toRecord(f, i));
    });
    engine.push(toRecord(s.frames[3]!, 4, 40)); // TCP header cut at byte 40
    const garbage = toRecord(s.frames[3]!, 5);
    garbage.buffer = garbage.buffer.slice();
    garbage.buffer[14] = 0x43; // IHL 12 bytes (< 20)
    engine.push(garbage);
    const badOffset = toRecord(s.frames[3]!, 5);
    badOffset.buffer = badOffset.buffer.slice();
    badOffset.buffer[14 + 20 + 12] = 0x40; // TCP data offset 16 bytes (< 20)
    engine.push(badOffset);
    for (let n = 0; n < 200; n++) {
      const random = toRecord(s.frames[3]!, 6 + n);
      random.buffer = random.buffer.map((_, j) => (j * 131 + n * 17) & 255);
      engine.push(random);
    }
    const result = engine.finish();
    assert.ok(result.capture.malformedPackets >= 3, `malformed ${result.capture.malformedPackets}`);
    assert.equal(result.capture.badLength, 2);
    assert.equal(result.capture.packets, 207);
    assert.equal(tcp(result).c2s.dataPackets, 1);
  });

  it("gives the same JSON after a round trip (stored result equals recomputation)", () => {
    const s = new TcpScript();
    s.handshake();
    s.data(false, 1000);
    s.ack(true);
    const a = run(s.frames, { features: true });
    const b = run(s.frames, { features: true });
    assert.deepEqual(JSON.parse(JSON.stringify(a)), b);
  });
});

it("a connection captured mid-way: the side on the service port is the server", () => {
  assert.equal(clientByPorts(8080, 38732), false, "first packet from the HTTP server");
  assert.equal(clientByPorts(38732, 443), true);
  assert.equal(clientByPorts(5060, 80), true, "both registered: the lower port serves");
  assert.equal(clientByPorts(40000, 50000), true, "both ephemeral: the first sender is the client");
});
