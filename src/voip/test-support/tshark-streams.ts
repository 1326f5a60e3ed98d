import { execFileSync } from "node:child_process";

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
