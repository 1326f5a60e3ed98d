import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createCaptureWriter, ether, gtpu, ipv4, type Packet, raw, rtp, udp, vxlan } from "../packet/index.ts";
import { analyzeRtpStreams } from "./rtp-streams.ts";
import { analyzeSipCalls } from "./sip-calls.ts";
import { assertSameStreams, tsharkStreams } from "./test-support/tshark-streams.ts";

/*
 * A VoLTE-like call whose SIP and RTP travel inside GTP-U (as an S1-U or N3 capture shows them),
 * and the same media inside VXLAN: `sip calls` finds the call and `rtp streams` the media as
 * tshark does, the figures equal to tshark's `-z rtp,streams` of the same file.
 */

const work = mkdtempSync(join(tmpdir(), `qoelab-voip-tunnels-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));

const UE = "10.45.0.2";
const PEER = "10.46.0.9";
const T0 = 1_700_000_000;

function sdp(address: string, port: number): string {
  return `v=0\r\no=- 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
}

function sipMessage(firstLine: string, from: string, body: string): string {
  return [
    firstLine,
    `Via: SIP/2.0/UDP ${from}:5060;branch=z9hG4bK-gtp1`,
    `From: <sip:ue@${UE}>;tag=u1`,
    `To: <sip:peer@${PEER}>${firstLine.startsWith("SIP/") ? ";tag=p1" : ""}`,
    "Call-ID: volte-in-gtpu@10.45.0.2",
    "CSeq: 1 INVITE",
    `Contact: <sip:x@${from}>`,
    "Content-Type: application/sdp",
    `Content-Length: ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

/** The packet inside: IPv4/UDP between the UE and the peer. */
function inner(src: string, dst: string, sport: number, dport: number, payload: Packet): Packet {
  return ipv4({ src, dst }).over(udp({ sport, dport }), payload);
}

/** Uplink in GTP-U from the eNodeB to the gateway (TEID 0x1001), downlink back (TEID 0x2002). */
function inGtpu(packet: Packet, uplink: boolean): Uint8Array {
  const [src, dst] = uplink ? ["172.16.0.1", "172.16.0.2"] : ["172.16.0.2", "172.16.0.1"];
  return ether()
    .over(ipv4({ src, dst }), udp({ sport: 2152, dport: 2152 }), gtpu({ teid: uplink ? 0x1001 : 0x2002 }), packet)
    .bytes();
}

function inVxlan(packet: Packet): Uint8Array {
  return ether()
    .over(
      ipv4({ src: "192.168.0.1", dst: "192.168.0.2" }),
      udp({ sport: 51000, dport: 4789 }),
      vxlan({ vni: 7 }),
      ether(),
      packet,
    )
    .bytes();
}

/** 50 G.711 packets from the UE, 20 ms apart with some jitter, the 21st lost. */
function media(wrap: (p: Packet) => Uint8Array, start: number): { bytes: Uint8Array; time: number }[] {
  const out = [];
  for (let i = 0; i < 50; i++) {
    if (i === 20) continue;
    const packet = inner(
      UE,
      PEER,
      40000,
      50000,
      rtp({ sequence: 100 + i, timestamp: 8000 + 160 * i, ssrc: 0x5eed0001 }).over(raw(new Uint8Array(160).fill(0xff))),
    );
    out.push({ bytes: wrap(packet), time: start + 0.02 * i + (i % 3) * 0.0013 });
  }
  return out;
}

async function writeCapture(path: string, frames: { bytes: Uint8Array; time: number }[]): Promise<void> {
  const writer = createCaptureWriter(path, { format: "pcap" });
  for (const { bytes, time } of frames) {
    const tsSec = Math.floor(time);
    writer.writePacket({ bytes, tsSec, tsNsec: Math.round((time - tsSec) * 1e6) * 1000 });
  }
  await writer.close();
}

describe("VoIP inside UDP tunnels (GTP-U, VXLAN), as tshark reads it", () => {
  it("a call signalled and carried in GTP-U: its SIP call and RTP stream", async () => {
    const path = join(work, "volte-gtpu.pcap");
    const invite = inner(UE, PEER, 5060, 5060, raw(sipMessage(`INVITE sip:peer@${PEER} SIP/2.0`, UE, sdp(UE, 40000))));
    const ok = inner(PEER, UE, 5060, 5060, raw(sipMessage("SIP/2.0 200 OK", PEER, sdp(PEER, 50000))));
    await writeCapture(path, [
      { bytes: inGtpu(invite, true), time: T0 },
      { bytes: inGtpu(ok, false), time: T0 + 0.25 },
      ...media((p) => inGtpu(p, true), T0 + 0.5),
    ]);

    const calls = await analyzeSipCalls(path);
    assert.deepEqual(
      calls.map((c) => [c.callId, c.state, c.finalStatus]),
      [["volte-in-gtpu@10.45.0.2", "IN CALL", 200]],
    );
    const tsharkCallIds = execFileSync("tshark", ["-n", "-r", path, "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"], {
      encoding: "utf8",
    });
    assert.deepEqual(tsharkCallIds.trim().split("\n"), ["volte-in-gtpu@10.45.0.2", "volte-in-gtpu@10.45.0.2"]);

    const theirs = tsharkStreams(path);
    const ours = await analyzeRtpStreams(path);
    assertSameStreams(ours, theirs);
    assert.equal(ours[0]?.lost, 1);
    assert.equal(ours[0]?.srcAddress, UE, "the stream is the UE's, not the tunnel's");
  });

  it("RTP in VXLAN, found by the RTP heuristic as tshark's rtp_udp finds it", async () => {
    const path = join(work, "rtp-vxlan.pcap");
    await writeCapture(path, media(inVxlan, T0));
    const theirs = tsharkStreams(path, ["--enable-heuristic", "rtp_udp"]);
    const ours = await analyzeRtpStreams(path, { heuristic: "always" });
    assertSameStreams(ours, theirs);
    assert.equal(ours[0]?.packets, 49);
  });
});
