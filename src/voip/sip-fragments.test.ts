import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createCaptureWriter, ether, ipv4, raw, udp } from "../packet/index.ts";
import { analyzeSipCalls } from "./sip-calls.ts";

const work = mkdtempSync(join(tmpdir(), `qoelab-sip-frag-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));

// A SIP INVITE whose SDP makes it larger than one Ethernet MTU, so IP fragments it (RFC 3261 §18.1.1
// says it should go over TCP; many phones send it over UDP all the same).
function invite(): string {
  const padding = Array.from({ length: 40 }, (_, i) => `a=x-pad${i}:${"0123456789".repeat(4)}`).join("\r\n");
  // Session-level padding first, so the media line lands in the second fragment.
  const sdp = `v=0\r\no=- 1 1 IN IP4 10.77.0.1\r\ns=-\r\nc=IN IP4 10.77.0.1\r\nt=0 0\r\n${padding}\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
  return [
    "INVITE sip:bob@10.77.0.2 SIP/2.0",
    "Via: SIP/2.0/UDP 10.77.0.1:5060;branch=z9hG4bK-frag1",
    "From: <sip:alice@10.77.0.1>;tag=a1",
    "To: <sip:bob@10.77.0.2>",
    "Call-ID: fragmented-invite@10.77.0.1",
    "CSeq: 1 INVITE",
    "Contact: <sip:alice@10.77.0.1>",
    "Content-Type: application/sdp",
    `Content-Length: ${sdp.length}`,
    "",
    sdp,
  ].join("\r\n");
}

async function writeFragmentedInvite(path: string, outOfOrder: boolean): Promise<void> {
  const whole = ipv4({ src: "10.77.0.1", dst: "10.77.0.2", id: 77 })
    .over(udp({ sport: 5060, dport: 5060 }), raw(invite()))
    .bytes();
  const datagram = whole.subarray(20); // UDP header + SIP
  assert.ok(datagram.length > 1480, "the INVITE needs two fragments");
  const cut = 1480;
  const fragment = (part: Uint8Array, fragOffset: number, mf: number) =>
    ether({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" })
      .over(ipv4({ src: "10.77.0.1", dst: "10.77.0.2", id: 77, protocol: 17, mf, fragOffset }), raw(part))
      .bytes();
  const first = fragment(datagram.subarray(0, cut), 0, 1);
  const second = fragment(datagram.subarray(cut), cut / 8, 0);
  const writer = createCaptureWriter(path, { format: "pcap" });
  const order = outOfOrder ? [second, first] : [first, second];
  for (const [i, bytes] of order.entries()) writer.writePacket({ bytes, tsSec: 1_700_000_000, tsNsec: i * 1000 });
  await writer.close();
}

describe("SIP in IP fragments (reassembled as tshark does)", () => {
  for (const outOfOrder of [false, true]) {
    it(`finds the call of a fragmented INVITE${outOfOrder ? " whose fragments arrive out of order" : ""}`, async () => {
      const path = join(work, `invite-${outOfOrder ? "ooo" : "inorder"}.pcap`);
      await writeFragmentedInvite(path, outOfOrder);
      const tsharkInvites = execFileSync(
        "tshark",
        ["-n", "-r", path, "-Y", 'sip.Method == "INVITE"', "-T", "fields", "-e", "sip.Call-ID"],
        {
          encoding: "utf8",
        },
      ).trim();
      assert.equal(tsharkInvites, "fragmented-invite@10.77.0.1", "tshark reassembles it");
      const calls = await analyzeSipCalls(path);
      assert.deepEqual(
        calls.map((c) => c.callId),
        [tsharkInvites],
      );
      const tsharkMediaPort = execFileSync(
        "tshark",
        ["-n", "-r", path, "-Y", "sip", "-T", "fields", "-e", "sdp.media.port"],
        {
          encoding: "utf8",
        },
      ).trim();
      assert.equal(tsharkMediaPort, "40000");
      assert.deepEqual(
        calls[0]?.media.map((m) => m.port),
        [Number(tsharkMediaPort)],
        JSON.stringify(calls[0]?.media),
      );
    });
  }
});
