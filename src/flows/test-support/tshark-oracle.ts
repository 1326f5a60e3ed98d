/**
 * tshark as the oracle for the flow tests: per-conversation frames/bytes from `-z conv,tcp`, and
 * per-packet analysis flags / ack_rtt from `-T fields`, grouped by TCP stream and direction.
 */
import { execFileSync } from "node:child_process";

const TSHARK = ["-o", "tcp.desegment_tcp_streams:FALSE", "-o", "tcp.analyze_sequence_numbers:TRUE"];

export interface ConvRow {
  a: string; // "addr:port"
  b: string;
  framesBtoA: number;
  bytesBtoA: { value: number; unit: number };
  framesAtoB: number;
  bytesAtoB: { value: number; unit: number };
}

const UNITS: Record<string, number> = { bytes: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

/** Rows of `tshark -q -z conv,tcp -o tcp.desegment_tcp_streams:FALSE`. Bytes are displayed rounded down to a unit. */
export function tsharkConversations(file: string): ConvRow[] {
  const text = execFileSync("tshark", ["-r", file, "-q", "-z", "conv,tcp", ...TSHARK], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const rows: ConvRow[] = [];
  const re = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+)\s+(bytes|kB|MB|GB)\s+(\d+)\s+(\d+)\s+(bytes|kB|MB|GB)\s/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    rows.push({
      a: m[1]!,
      b: m[2]!,
      framesBtoA: Number(m[3]),
      bytesBtoA: { value: Number(m[4]), unit: UNITS[m[5]!]! },
      framesAtoB: Number(m[6]),
      bytesAtoB: { value: Number(m[7]), unit: UNITS[m[8]!]! },
    });
  }
  return rows;
}

export interface TsharkPacket {
  frame: number;
  stream: number;
  src: string; // "addr:port"
  frameLen: number;
  tcpLen: number;
  retransmission: boolean;
  fastRetransmission: boolean;
  spurious: boolean;
  outOfOrder: boolean;
  ackRtt: number | null; // seconds
  acksFrame: number | null;
  /** Relative sequence number. */
  seq: number;
}

const flagged = (p: TsharkPacket) => p.retransmission || p.fastRetransmission || p.spurious || p.outOfOrder;

/**
 * tshark's ack_rtt samples (ms) on first-transmission data: the acknowledged frame carries data, is
 * not itself flagged, and no flagged frame of its stream and direction overlapping its bytes came
 * before the ACK (tshark does not apply Karn's rule; tstat and qoelab do). Keyed by ACK frame.
 */
export function firstTransmissionRtts(
  packets: readonly TsharkPacket[],
  stream: number,
  dataSender: string,
): Map<number, number> {
  const byFrame = new Map(packets.map((p) => [p.frame, p]));
  const resent = packets.filter((p) => p.stream === stream && p.src === dataSender && p.tcpLen > 0 && flagged(p));
  const out = new Map<number, number>();
  for (const p of packets) {
    if (p.stream !== stream || p.src === dataSender || p.ackRtt === null || p.acksFrame === null) continue;
    const acked = byFrame.get(p.acksFrame);
    if (!acked || acked.tcpLen === 0 || flagged(acked)) continue;
    const start = acked.seq;
    const end = acked.seq + acked.tcpLen;
    if (resent.some((r) => r.frame > acked.frame && r.frame < p.frame && r.seq < end && r.seq + r.tcpLen > start))
      continue;
    out.set(p.frame, p.ackRtt * 1000);
  }
  return out;
}

export function tsharkPackets(file: string): TsharkPacket[] {
  const fields = [
    "frame.number",
    "tcp.stream",
    "ip.src",
    "tcp.srcport",
    "frame.len",
    "tcp.len",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.acks_frame",
    "tcp.seq",
  ];
  const text = execFileSync(
    "tshark",
    ["-r", file, ...TSHARK, "-Y", "tcp", "-T", "fields", "-E", "separator=|", ...fields.flatMap((f) => ["-e", f])],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 30 },
  );
  const out: TsharkPacket[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const c = line.split("|");
    out.push({
      frame: Number(c[0]),
      stream: Number(c[1]),
      src: `${c[2]}:${c[3]}`,
      frameLen: Number(c[4]),
      tcpLen: Number(c[5]),
      retransmission: c[6] !== "",
      fastRetransmission: c[7] !== "",
      spurious: c[8] !== "",
      outOfOrder: c[9] !== "",
      ackRtt: c[10] ? Number(c[10]) : null,
      acksFrame: c[11] ? Number(c[11]) : null,
      seq: Number(c[12]),
    });
  }
  return out;
}
