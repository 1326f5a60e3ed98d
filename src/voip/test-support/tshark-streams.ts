import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import type { RtpStream } from "../rtp-streams.ts";

/** One row of tshark's `-z rtp,streams` table. */
export interface TsharkRow {
  start: number;
  end: number;
  src: string;
  dst: string;
  ssrc: number;
  payload: string;
  packets: number;
  lost: number;
  /** min/mean/max delta, min/mean/max jitter (ms). */
  values: number[];
}

const ROW =
  /^\s*([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-F]+)\s+(.+?)\s+(\d+)\s+(-?\d+)\s+\([-\d.]+%\)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)/;

/** tshark's RTP streams of `pcap` (the oracle of the voip tests); `extra`: more tshark options (`-d …`). */
export function tsharkStreams(pcap: string, extra: string[] = []): TsharkRow[] {
  const out = execFileSync("tshark", ["-r", pcap, ...extra, "-q", "-z", "rtp,streams"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const rows: TsharkRow[] = [];
  for (const line of out.split("\n")) {
    const m = ROW.exec(line);
    if (!m) continue;
    rows.push({
      start: Number(m[1]),
      end: Number(m[2]),
      src: `${m[3]}:${m[4]}`,
      dst: `${m[5]}:${m[6]}`,
      ssrc: Number.parseInt(m[7]!.slice(2), 16),
      payload: m[8]!,
      packets: Number(m[9]),
      lost: Number(m[10]),
      values: m.slice(11, 17).map(Number),
    });
  }
  return rows;
}

const key = (src: string, dst: string, ssrc: number) => `${src}>${dst}#${ssrc}`;
/** The same key for one of our streams and for a tshark row. */
export const streamKey = (s: RtpStream) => key(`${s.srcAddress}:${s.srcPort}`, `${s.dstAddress}:${s.dstPort}`, s.ssrc);
export const rowKey = (t: TsharkRow) => key(t.src, t.dst, t.ssrc);

/** Every tshark stream is ours with the same counts and delta/jitter figures (to tshark's 3 decimals). */
export function assertSameStreams(ours: RtpStream[], theirs: TsharkRow[], file = ""): void {
  if (file === "") assert.ok(theirs.length > 0, "tshark lists streams");
  assert.deepEqual(ours.map(streamKey).sort(), theirs.map(rowKey).sort(), file);
  for (const t of theirs) {
    const s = ours.find((x) => streamKey(x) === rowKey(t))!;
    assertSameFigures(s, t);
  }
}

/** One stream's packets, loss and delta/jitter figures equal tshark's row (to its 3 decimals). */
export function assertSameFigures(s: RtpStream, t: TsharkRow): void {
  const what = `0x${t.ssrc.toString(16)} ${t.src} → ${t.dst}`;
  assert.equal(s.payloads, t.payload, `${what}: payload types`);
  assert.equal(s.packets, t.packets, `${what}: packets`);
  assert.equal(s.lost, t.lost, `${what}: lost`);
  const mine = [s.minDeltaMs, s.meanDeltaMs, s.maxDeltaMs, s.minJitterMs, s.meanJitterMs, s.maxJitterMs];
  mine.forEach((v, i) => {
    assert.ok(Math.abs(v - t.values[i]!) <= 0.0005 + 1e-9, `${what}: figure ${i}: ${v} vs tshark ${t.values[i]}`);
  });
}
