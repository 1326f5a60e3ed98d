import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { decodeG711, encodeG711, readWav, writeWav } from "../audio/index.ts";
import { startCapture } from "../capture/index.ts";
import { isQoelabError } from "../errors.ts";
import { parseRtpCodec, readTelephoneWav, sendRtp, telephoneAudio } from "../generator/index.ts";
import { Dissection, decodeRtcp, dissect, forEachPacket, IpProto } from "../packet/index.ts";
import { analyzeRtpStreams, extractRtpAudio } from "../voip/index.ts";

const run = promisify(execFile);

function tone(length: number, rate: number, freq: number, amp = 0.3): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

async function receiver(): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  socket.on("message", () => undefined);
  return { socket, port: socket.address().port };
}

describe("telephoneAudio: 8 kHz mono 16-bit, converting only what is unambiguous", () => {
  test("8 kHz mono 16-bit passes unchanged", () => {
    const t = telephoneAudio({
      sampleRate: 8000,
      channels: [tone(800, 8000, 440)],
      encoding: "pcm",
      bitsPerSample: 16,
    });
    assert.deepEqual(t.conversions, []);
    assert.equal(t.pcm.length, 800);
  });
  test("44.1 kHz identical stereo: taken as mono and resampled, both reported", () => {
    const ch = tone(44100, 44100, 440);
    const t = telephoneAudio({ sampleRate: 44100, channels: [ch, ch.slice()], encoding: "pcm", bitsPerSample: 16 });
    assert.equal(t.pcm.length, 8000);
    assert.deepEqual(t.conversions, ["2 identical channels taken as mono", "resampled 44100 Hz → 8000 Hz"]);
  });
  test("different stereo channels are mixed down; one silent channel is dropped", () => {
    const mixed = telephoneAudio({
      sampleRate: 8000,
      channels: [tone(800, 8000, 440), tone(800, 8000, 700)],
      encoding: "float",
      bitsPerSample: 32,
    });
    assert.match(mixed.conversions.join("; "), /mixed down to mono/);
    assert.match(mixed.conversions.join("; "), /float 32-bit converted to 16-bit/);
    const oneSided = telephoneAudio({
      sampleRate: 8000,
      channels: [new Float32Array(800), tone(800, 8000, 440)],
      encoding: "pcm",
      bitsPerSample: 16,
    });
    assert.deepEqual(oneSided.conversions, ["channel 2 of 2 taken (the others are silent)"]);
    assert.equal(oneSided.pcm[2], Math.round(tone(800, 8000, 440)[2]! * 32768));
  });
  test("channels that cancel when mixed, or many different channels, are refused", () => {
    const a = tone(800, 8000, 440);
    const b = a.map((v) => -v);
    assert.throws(
      () => telephoneAudio({ sampleRate: 8000, channels: [a, b], encoding: "pcm", bitsPerSample: 16 }, "anti.wav"),
      (e: unknown) =>
        isQoelabError(e) && e.code === "AUDIO_AMBIGUOUS_CHANNELS" && /anti\.wav: 2 channels/.test(e.message),
    );
    assert.throws(
      () =>
        telephoneAudio({
          sampleRate: 8000,
          channels: [a, tone(800, 8000, 300), tone(800, 8000, 900)],
          encoding: "pcm",
          bitsPerSample: 16,
        }),
      (e: unknown) => isQoelabError(e) && e.code === "AUDIO_AMBIGUOUS_CHANNELS",
    );
  });
  test("unknown codecs are named in a coded error", () => {
    assert.equal(parseRtpCodec("PCMA"), "pcma");
    assert.equal(parseRtpCodec("ulaw"), "pcmu");
    assert.throws(
      () => parseRtpCodec("opus"),
      (e: unknown) => isQoelabError(e) && e.code === "GEN_UNKNOWN_CODEC" && /"opus"/.test(e.message),
    );
  });
});

describe("sendRtp (live, loopback): real audio as G.711 RTP", () => {
  let dir = "";
  let speech = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), `qoelab-rtp-sender-${process.pid}-`));
    speech = join(dir, "speech.wav");
    execFileSync("espeak-ng", ["-w", speech, "Seven eight nine, the quick brown fox."]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const codec of ["pcmu", "pcma"] as const) {
    test(`${codec}: one stream, right PT, no loss, 20 ms deltas; extraction gives back the G.711 round trip`, async () => {
      const audio = await readTelephoneWav(speech);
      assert.deepEqual(audio.conversions, ["resampled 22050 Hz → 8000 Hz"]);
      const { socket, port } = await receiver();
      const pcap = join(dir, `${codec}.pcap`);
      const capture = await startCapture({
        iface: "lo",
        filter: `udp and (port ${port} or port ${port + 1})`,
        file: pcap,
      });
      let result: Awaited<ReturnType<typeof sendRtp>>;
      try {
        result = await sendRtp({ host: "127.0.0.1", port, pcm: audio.pcm, codec, rtcp: true, seed: 11 });
      } finally {
        await new Promise((r) => setTimeout(r, 100));
        await capture.stop();
        socket.close();
      }
      const frames = Math.ceil(audio.pcm.length / 160);
      assert.equal(result.packets, frames);
      assert.equal(result.sent, frames);
      assert.equal(result.payloadType, codec === "pcmu" ? 0 : 8);

      const streams = await analyzeRtpStreams(pcap, { heuristic: "always" });
      const rtp = streams.filter((s) => s.dstPort === port);
      assert.equal(rtp.length, 1);
      const s = rtp[0]!;
      assert.equal(s.ssrc, result.ssrc);
      assert.equal(s.payloadType, codec === "pcmu" ? 0 : 8);
      assert.equal(s.packets, frames);
      assert.equal(s.lost, 0);
      assert.equal(s.sequenceErrors, 0);
      // Absolute deadlines: the mean spacing is the ptime whatever the machine's load.
      assert.ok(Math.abs(s.meanDeltaMs - 20) < 0.5, `mean delta ${s.meanDeltaMs} ms`);

      const extracted = await extractRtpAudio(pcap, { ssrc: result.ssrc });
      const law = codec === "pcmu" ? "ulaw" : "alaw";
      const padded = new Int16Array(frames * 160);
      padded.set(audio.pcm);
      const roundTrip = decodeG711(law, encodeG711(law, padded));
      assert.equal(extracted.samples.length, roundTrip.length);
      assert.deepEqual(extracted.samples, roundTrip);

      // RTCP: SR+SDES during the call (≥ 2.5 s of audio) and SR+SDES+BYE at the end, same SSRC.
      const rtcp: string[][] = [];
      const d = new Dissection();
      await forEachPacket(pcap, (record) => {
        dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, d);
        if (d.ipProto !== IpProto.UDP || d.dstPort !== port + 1) return;
        const decoded = decodeRtcp(record.buffer, d.payloadOffset, d.capturedPayloadLength);
        rtcp.push(decoded.packets.map((p) => p.kind));
        for (const p of decoded.packets) if (p.kind === "sr") assert.equal(p.ssrc, result.ssrc);
      });
      assert.equal(rtcp.length, result.rtcpPackets);
      assert.deepEqual(rtcp[rtcp.length - 1], ["sr", "sdes", "bye"]);
      if (audio.pcm.length > 2.6 * 8000) assert.deepEqual(rtcp[0], ["sr", "sdes"]);
    });
  }

  test("generator-side seeded loss: the same seed drops the same sequence numbers", async () => {
    const pcm = new Int16Array(8000 * 2).map((_, i) => Math.round(8000 * Math.sin(i / 5)));
    const { socket, port } = await receiver();
    try {
      const send = () =>
        sendRtp({
          host: "127.0.0.1",
          port,
          pcm,
          codec: "pcmu",
          ptimeMs: 10,
          seed: 5,
          loss: { kind: "bernoulli", p: 0.2 },
        });
      const a = await send();
      const b = await send();
      assert.ok(a.droppedSequences.length > 0);
      assert.deepEqual(a.droppedSequences, b.droppedSequences);
      assert.equal(a.firstSequence, b.firstSequence);
      assert.equal(a.sent + a.droppedByModel, 200);
    } finally {
      socket.close();
    }
  });

  test("CLI: gen rtp converts a stereo 16 kHz WAV (and says so) and refuses an unknown codec", async () => {
    const ch = tone(16000, 16000, 440);
    const stereo = join(dir, "stereo16k.wav");
    writeFileSync(stereo, writeWav([ch, ch], 16000, "pcm16"));
    assert.equal(readWav(new Uint8Array(execFileSync("cat", [stereo]))).channels.length, 2);
    const { socket, port } = await receiver();
    try {
      const ok = await run(
        "npx",
        ["tsx", "src/cli/main.ts", "gen", "rtp", "--wav", stereo, "--to", `127.0.0.1:${port}`, "--json"],
        {
          cwd: process.cwd(),
        },
      );
      const result = JSON.parse(ok.stdout) as { packets: number; payloadType: number };
      assert.equal(result.packets, 50);
      assert.equal(result.payloadType, 0);
      assert.match(ok.stderr, /identical channels taken as mono/);
      assert.match(ok.stderr, /resampled 16000 Hz → 8000 Hz/);
      await assert.rejects(
        run("npx", [
          "tsx",
          "src/cli/main.ts",
          "gen",
          "rtp",
          "--wav",
          stereo,
          "--to",
          `127.0.0.1:${port}`,
          "--codec",
          "g729",
        ]),
        (e: { code: number; stderr: string }) =>
          e.code === 1 && /GEN_UNKNOWN_CODEC/.test(e.stderr) && /g729/.test(e.stderr),
      );
    } finally {
      socket.close();
    }
  });
});
