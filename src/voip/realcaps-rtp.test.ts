import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { QoelabError } from "../errors.ts";
import { analyzeRtpStreams, extractRtpAudio, orderStreams, type RtpStream } from "./index.ts";
import { REALCAPS, realcapsFiles } from "./test-support/realcaps.ts";
import {
  assertSameFigures,
  assertSameStreams,
  rowKey,
  streamKey,
  type TsharkRow,
  tsharkStreams,
} from "./test-support/tshark-streams.ts";

/*
 * RTP from other people's captures (../shared/data/realcaps/voip), each checked against tshark's
 * `-z rtp,streams` of the same file: comfort noise and telephone-events inside a G.711 stream, jitter
 * on a stream mixing G.711 and events, one SSRC sent to two destinations, a UDP port decoded as RTP
 * by hand, and SDP carried by MGCP.
 */

const DIR = `${REALCAPS}/voip`;
const FAX = `${DIR}/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap`;
const DTMF = `${DIR}/SIP_DTMF2.cap`;
const ZFONE = `${DIR}/Asterisk_ZFONE_XLITE.pcap`;
const SIPP = `${DIR}/rtp-only/sipp_g711a.pcap`;
const MGCP = `${DIR}/SIP_CALL_RTP_G711.pcap`;

/**
 * tshark 4.0's streams of every realcaps capture, by mode (test-data/make-realcaps-rtp-streams.py):
 * "sdp" with its defaults, "heuristic" with rtp.heuristic_rtp on.
 */
function tsharkTable(): Map<string, { sdp: TsharkRow[]; heuristic: TsharkRow[] }> {
  const table = new Map<string, { sdp: TsharkRow[]; heuristic: TsharkRow[] }>();
  for (const line of readFileSync("test-data/realcaps-rtp-streams.tsv", "utf8").trim().split("\n").slice(1)) {
    const [file, mode, src, dst, ssrc, payload, packets, lost, ...values] = line.split("\t") as string[];
    const entry = table.get(file!) ?? { sdp: [], heuristic: [] };
    entry[mode as "sdp" | "heuristic"].push({
      start: 0,
      end: 0,
      src: src!,
      dst: dst!,
      ssrc: Number.parseInt(ssrc!.slice(2), 16),
      payload: payload!,
      packets: Number(packets),
      lost: Number(lost),
      values: values.map(Number),
    });
    table.set(file!, entry);
  }
  return table;
}

/** A capture's streams; none when qoelab refuses the file (a coded error: tshark then lists none either). */
async function streamsOrNone(path: string, heuristic: "auto" | "always"): Promise<RtpStream[]> {
  try {
    return await analyzeRtpStreams(path, { heuristic });
  } catch (e) {
    if (e instanceof QoelabError) return [];
    throw e;
  }
}

describe("RTP from other people's captures, against tshark", () => {
  it("the captures are there", () => {
    for (const f of [FAX, DTMF, ZFONE, SIPP, MGCP]) assert.ok(existsSync(f), `${f} is missing`);
  });

  it("jitter on a stream mixing G.711 and telephone-events follows tshark's rule (SIP_DTMF2)", async () => {
    const theirs = tsharkStreams(DTMF);
    const ours = await analyzeRtpStreams(DTMF);
    assertSameStreams(ours, theirs);
    const mixed = theirs.find((t) => t.ssrc === 0x5711bf84)!;
    assert.match(mixed.payload, /telephone-event/);
    assert.deepEqual([mixed.values[4], mixed.values[5]], [1.522, 15.767]);
  });

  it("one SSRC sent to two destinations is two streams, and --stream N picks one (Asterisk_ZFONE_XLITE)", async () => {
    const theirs = tsharkStreams(ZFONE);
    const ours = await analyzeRtpStreams(ZFONE);
    assertSameStreams(ours, theirs);
    const reused = orderStreams(ours).flatMap((s, i) => (s.ssrc === 0xbee0f2ed ? [{ s, n: i + 1 }] : []));
    assert.deepEqual(
      reused.map(({ s }) => s.packets).sort((a, b) => a - b),
      [2, 205],
    );
    await assert.rejects(
      extractRtpAudio(ZFONE, { ssrc: 0xbee0f2ed }),
      (e: unknown) => e instanceof QoelabError && e.code === "VOIP_STREAM_AMBIGUOUS" && /--stream \d/.test(e.message),
    );
    for (const { s, n } of reused) {
      const audio = await extractRtpAudio(ZFONE, { stream: n });
      assert.equal(audio.stream.dstPort, s.dstPort);
      assert.equal(audio.packets, s.packets, "only that stream's packets are decoded");
    }
  });

  it("comfort noise and telephone-events in a G.711 stream: timing kept, CN at its level, events skipped (FAX call)", async () => {
    const theirs = tsharkStreams(FAX);
    const row = theirs.find((t) => t.ssrc === 0x17d90134)!;
    assert.match(row.payload, /g711A, CN/);
    // Its figures as tshark's: three packets of a type the SDP did not name (PT 100, no clock rate),
    // two of them with a timestamp behind the previous packet's but not behind the stream's first,
    // which tshark 4.0 takes as in time sequence (so they count as regular packets).
    assertSameFigures((await analyzeRtpStreams(FAX)).find((s) => s.ssrc === 0x17d90134)!, row);
    const audio = await extractRtpAudio(FAX, { ssrc: 0x17d90134 });
    // tshark: 1171 packets, none lost; 163 of them comfort noise (PT 13) and 3 telephone-events.
    assert.equal(audio.packets, row.packets);
    assert.equal(audio.lostSequences.length, row.lost);
    assert.equal(audio.played, row.packets - 166);
    assert.equal(audio.skipped, 166);
    // The audio spans the stream: first to last packet (tshark's start/end) plus the last packet's 20 ms.
    const seconds = audio.samples.length / 8000;
    assert.ok(Math.abs(seconds - (row.end - row.start + 0.02)) < 0.03, `${seconds} s vs tshark ${row.end - row.start}`);
    // The CN period (packets 967–1129, level 76 −dBov) is low noise, not silence and not speech.
    const cnStart = 78_280;
    const cnEnd = cnStart + 150_000;
    let energy = 0;
    let zeros = 0;
    for (let i = cnStart; i < cnEnd; i++) {
      const v = audio.samples[i]!;
      energy += v * v;
      if (v === 0) zeros++;
    }
    const rms = Math.sqrt(energy / (cnEnd - cnStart));
    const expected = 32767 * 10 ** (-76 / 20);
    assert.ok(Math.abs(rms / expected - 1) < 0.1, `CN RMS ${rms} vs ${expected}`);
    assert.ok(zeros < (cnEnd - cnStart) / 2);
  });

  it("SDP in text MEGACO and SIP moves an endpoint to T.38 and back, as tshark decodes it (FAX call)", async () => {
    // Frames 1434/1435 (MEGACO, compact "!/1" form) offer audio and then image/udptl on 10.23.1.52:16756:
    // tshark decodes the 27 packets sent there afterwards as T.38, so stream 0x0EAF0EAF has 132 packets.
    // Frame 1412 (SIP) had moved the endpoint back to RTP after frame 1392's T.38 (MEGACO again).
    const theirs = tsharkStreams(FAX);
    assert.equal(theirs.find((t) => t.ssrc === 0x0eaf0eaf)?.packets, 132);
    assertSameStreams(await analyzeRtpStreams(FAX), theirs);
  });

  it("every capture of realcaps: tshark's streams with its figures; the heuristic's as tshark's rtp.heuristic_rtp", async (t) => {
    const table = tsharkTable();
    const files = realcapsFiles();
    let signalled = 0;
    let heuristic = 0;
    let rejected = 0;
    for (const file of files) {
      const path = `${REALCAPS}/${file}`;
      const theirs = table.get(file) ?? { sdp: [], heuristic: [] };
      // Defaults: what SDP announced equals tshark's; a capture without SDP falls back to the
      // heuristic, whose streams tshark lists only with rtp.heuristic_rtp on.
      const auto = await streamsOrNone(path, "auto");
      const bySdp = auto.filter((s) => s.foundBy !== "heuristic");
      assertSameStreams(bySdp, theirs.sdp, file);
      const guessed = auto.filter((s) => s.foundBy === "heuristic");
      for (const s of guessed) {
        const row = theirs.heuristic.find((r) => rowKey(r) === streamKey(s));
        assert.ok(row, `${file}: 0x${s.ssrc.toString(16)} found by the heuristic, which tshark's does not find`);
        assertSameFigures(s, row);
      }
      // With the heuristic on everywhere: tshark's rows, less those qoelab's stricter heuristic
      // (`plausible`: at least 4 packets, most sequence steps +1) rejects, e.g. NFS datagrams that
      // tshark's takes for 1- and 6-packet streams with repeating sequence numbers.
      const always = await streamsOrNone(path, "always");
      const ourKeys = new Set(always.map(streamKey));
      const kept = theirs.heuristic.filter((r) => ourKeys.has(rowKey(r)));
      for (const r of theirs.heuristic.filter((row) => !kept.includes(row))) {
        assert.ok(
          r.packets < 4 || r.packets + r.lost < r.packets / 2,
          `${file}: tshark's heuristic stream 0x${r.ssrc.toString(16)} is missing`,
        );
        rejected++;
      }
      assertSameStreams(always, kept, file);
      signalled += bySdp.length;
      heuristic += kept.length;
    }
    t.diagnostic(
      `${files.length} captures: ${signalled} streams announced by SDP; with the heuristic on, ${heuristic} equal to tshark's, ${rejected} of tshark's rejected as implausible`,
    );
    assert.ok(signalled >= 20 && heuristic >= 28, "the table holds the realcaps streams");
  });

  it("--rtp-port decodes a UDP port as RTP as tshark -d udp.port==2006,rtp does (rtp-only/sipp_g711a)", async () => {
    await assert.rejects(
      analyzeRtpStreams(SIPP, { heuristic: "never" }),
      (e: unknown) => e instanceof QoelabError && e.code === "VOIP_NO_RTP",
    );
    const ours = await analyzeRtpStreams(SIPP, { heuristic: "never", rtpPorts: [2006] });
    assertSameStreams(ours, tsharkStreams(SIPP, ["-d", "udp.port==2006,rtp"]));
    assert.equal(ours[0]!.foundBy, "port");
  });

  it("SDP carried by MGCP announces a stream as tshark finds it (SIP_CALL_RTP_G711, 0x00002E3D)", async () => {
    const theirs = tsharkStreams(MGCP);
    assert.ok(theirs.some((t) => t.ssrc === 0x2e3d));
    const ours = await analyzeRtpStreams(MGCP);
    assertSameStreams(ours, theirs);
    assert.equal(ours.find((s) => s.ssrc === 0x2e3d)!.foundBy, "sdp");
  });
});
