import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createCaptureWriter, ether, ipv4, raw, rtp, tcp, udp } from "../packet/index.ts";
import { analyzeRtpStreams } from "./rtp-streams.ts";
import { analyzeSipCalls } from "./sip-calls.ts";

const work = mkdtempSync(join(tmpdir(), `qoelab-sip-tcp-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));

const ALICE = "10.78.0.1";
const BOB = "10.78.0.2";
const CALL_ID = "over-tcp@10.78.0.1";

function message(startLine: string, cseq: string, sdpPort?: number, address = ALICE): string {
  const sdp =
    sdpPort === undefined
      ? ""
      : `v=0\r\no=- 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio ${sdpPort} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
  const head = [
    startLine,
    `Via: SIP/2.0/TCP ${ALICE}:5060;branch=z9hG4bK-${cseq.replace(" ", "-")}`,
    `From: <sip:alice@${ALICE}>;tag=a1`,
    `To: <sip:bob@${BOB}>${startLine.startsWith("SIP/") ? ";tag=b1" : ""}`,
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${cseq}`,
    ...(sdp ? ["Content-Type: application/sdp"] : []),
    `Content-Length: ${sdp.length}`,
  ];
  return `${head.join("\r\n")}\r\n\r\n${sdp}`;
}

/**
 * A call signalled over one TCP connection: Alice's INVITE split over two segments (the first sent
 * twice), the second segment also carrying her ACK; a CRLF keep-alive (RFC 5626) and Bob's 200 OK
 * in one segment; then a segment the capture missed (a gap) and Alice's BYE; Bob's RTP to the port
 * Alice's SDP announced.
 */
async function writeCall(path: string): Promise<void> {
  const invite = message(`INVITE sip:bob@${BOB} SIP/2.0`, "1 INVITE", 40000);
  const ok = message("SIP/2.0 200 OK", "1 INVITE", 40002, BOB);
  const ack = message(`ACK sip:bob@${BOB} SIP/2.0`, "1 ACK");
  const bye = message(`BYE sip:bob@${BOB} SIP/2.0`, "2 BYE");
  const segment = (from: string, to: string, seq: number, payload: string) =>
    ether()
      .over(
        ipv4({ src: from, dst: to }),
        tcp({ sport: from === ALICE ? 5060 : 5062, dport: from === ALICE ? 5062 : 5060, seq, ack: 1, flags: "PA" }),
        raw(payload),
      )
      .bytes();
  const cut = 150;
  const a = 1000;
  const frames = [
    segment(ALICE, BOB, a, invite.slice(0, cut)),
    segment(ALICE, BOB, a, invite.slice(0, cut)),
    segment(ALICE, BOB, a + cut, invite.slice(cut) + ack),
    segment(BOB, ALICE, 5000, "\r\n\r\n"),
    segment(BOB, ALICE, 5004, ok),
    // 100 bytes the capture missed, then the BYE.
    segment(ALICE, BOB, a + invite.length + ack.length + 100, bye),
  ];
  for (let i = 0; i < 6; i++) {
    frames.push(
      ether()
        .over(
          ipv4({ src: BOB, dst: ALICE }),
          udp({ sport: 40002, dport: 40000 }),
          rtp({ sequence: 100 + i, timestamp: 160 * i, ssrc: 0xb0b }),
          raw(new Uint8Array(160)),
        )
        .bytes(),
    );
  }
  const writer = createCaptureWriter(path, { format: "pcap" });
  for (const [i, bytes] of frames.entries())
    writer.writePacket({ bytes, tsSec: 1_700_000_000, tsNsec: i * 20_000_000 });
  await writer.close();
}

/** A head that never ends (70 KiB of header lines in 1 KiB segments), then in sequence a whole BYE. */
async function writeEndlessHead(path: string): Promise<void> {
  const writer = createCaptureWriter(path, { format: "pcap" });
  const send = (seq: number, payload: string, i: number) =>
    writer.writePacket({
      bytes: ether()
        .over(ipv4({ src: ALICE, dst: BOB }), tcp({ sport: 5060, dport: 5062, seq, ack: 1, flags: "PA" }), raw(payload))
        .bytes(),
      tsSec: 1_700_000_000,
      tsNsec: i * 1_000_000,
    });
  let seq = 1000;
  let i = 0;
  for (const chunk of [
    `INVITE sip:bob@${BOB} SIP/2.0\r\n`,
    ...Array.from({ length: 70 }, () => `X-Pad: ${"p".repeat(1014)}\r\n`),
  ]) {
    send(seq, chunk, i++);
    seq += chunk.length;
  }
  send(seq, message(`BYE sip:bob@${BOB} SIP/2.0`, "2 BYE"), i);
  await writer.close();
}

describe("SIP over TCP (segments reassembled into messages, as tshark does)", () => {
  it("drops a message that outgrows 64 KiB without its empty line, and reads the next one", async () => {
    const path = join(work, "endless.pcap");
    await writeEndlessHead(path);
    const calls = await analyzeSipCalls(path);
    assert.deepEqual(
      calls.flatMap((c) => c.events.map((e) => `${e.frame} ${e.label}`)),
      ["72 BYE"],
    );
  });

  it("finds each message at the segment that completes it, once, as tshark does, and the SDP it carries", async () => {
    const path = join(work, "call.pcap");
    await writeCall(path);
    const theirs = execFileSync(
      "tshark",
      ["-n", "-r", path, "-Y", "sip", "-T", "fields", "-e", "frame.number", "-e", "sip.CSeq"],
      { encoding: "utf8" },
    )
      .trim()
      .split("\n")
      .map((line) => line.replace("\t", " "));
    // INVITE and ACK complete in frame 3, the 200 OK in frame 5 (after the keep-alive), the BYE
    // (after the gap) in frame 6.
    assert.deepEqual(theirs, ["3 1 INVITE,1 ACK", "5 1 INVITE", "6 2 BYE"]);
    const [call, ...others] = await analyzeSipCalls(path);
    assert.equal(others.length, 0);
    assert.deepEqual(
      call!.events.map((e) => `${e.frame} ${e.label}`),
      ["3 INVITE (SDP)", "3 ACK", "5 200 OK (SDP)", "6 BYE"],
    );
    assert.equal(call!.state, "COMPLETED");
    assert.deepEqual(
      call!.media.map((m) => `${m.address}:${m.port}`),
      [`${ALICE}:40000`, `${BOB}:40002`],
    );
    // The RTP is found by the SDP that came over TCP, not by the heuristic; tshark lists it too.
    const streams = await analyzeRtpStreams(path, { heuristic: "never" });
    assert.deepEqual(
      streams.map((s) => [s.ssrc, s.packets, s.foundBy]),
      [[0xb0b, 6, "sdp"]],
    );
    const tsharkStreams = execFileSync("tshark", ["-n", "-r", path, "-q", "-z", "rtp,streams"], { encoding: "utf8" });
    assert.match(tsharkStreams, /10\.78\.0\.2\s+40002\s+10\.78\.0\.1\s+40000\s+0x00000B0B/);
  });
});
