import type { FlowResult, TcpDirectionResult, UdpDirectionResult } from "./results.ts";
import type { TimeSeries } from "./time-series.ts";

/**
 * Flat columns of flow results, named like tstat's log_tcp_complete header (`c_` client → server,
 * `s_` server → client) with the unit in brackets, as the CSV/TSV output prints them. The same
 * list documents the columns in docs/flows.md.
 */
export interface FlowColumn {
  /** Header with unit, e.g. `c_bytes_uniq[B]`. */
  name: string;
  /** Short header for the terminal table, or undefined when the column is not in the table. */
  short?: string;
  /** Only in the terminal table (CSV/TSV carry the parts). */
  tableOnly?: boolean;
  get(flow: FlowResult): string | number | boolean | null;
}

type Dir = "c2s" | "s2c";
const tcpDir = (f: FlowResult, d: Dir): TcpDirectionResult | null => (f.proto === "tcp" ? f[d] : null);
const udpDir = (f: FlowResult, d: Dir): UdpDirectionResult | null => (f.proto === "udp" ? f[d] : null);

function perDirection(
  suffix: string,
  get: (f: FlowResult, d: Dir) => number | boolean | null,
  short?: string,
  shortDirections: readonly Dir[] = ["c2s", "s2c"],
): FlowColumn[] {
  return (["c2s", "s2c"] as const).map((d) => {
    const column: FlowColumn = { name: `${d === "c2s" ? "c" : "s"}_${suffix}`, get: (f) => get(f, d) };
    if (short && shortDirections.includes(d)) column.short = `${d === "c2s" ? "c" : "s"}_${short}`;
    return column;
  });
}

const tcpField =
  <K extends keyof TcpDirectionResult>(key: K) =>
  (f: FlowResult, d: Dir) => {
    const v = tcpDir(f, d)?.[key];
    return v === undefined ? null : (v as number | boolean | null);
  };

export const FLOW_COLUMNS: readonly FlowColumn[] = [
  { name: "proto", short: "proto", get: (f) => f.proto },
  { name: "client", short: "client", tableOnly: true, get: (f) => `${f.client.address}:${f.client.port}` },
  { name: "server", short: "server", tableOnly: true, get: (f) => `${f.server.address}:${f.server.port}` },
  { name: "c_ip", get: (f) => f.client.address },
  { name: "c_port", get: (f) => f.client.port },
  { name: "s_ip", get: (f) => f.server.address },
  { name: "s_port", get: (f) => f.server.port },
  ...perDirection("pkts_all", (f, d) => f[d].packets, "pkts"),
  ...perDirection("bytes_wire[B]", (f, d) => f[d].wireBytes),
  ...perDirection("rst_cnt", tcpField("rst")),
  ...perDirection("ack_cnt", tcpField("ackPackets")),
  ...perDirection("ack_cnt_p", tcpField("pureAckPackets")),
  ...perDirection("bytes_uniq[B]", (f, d) => tcpDir(f, d)?.uniqueBytes ?? udpDir(f, d)?.payloadBytes ?? null, "bytes", [
    "s2c",
  ]),
  ...perDirection("pkts_data", tcpField("dataPackets")),
  ...perDirection("bytes_all[B]", tcpField("dataBytes")),
  ...perDirection("pkts_retx", tcpField("retxPackets"), "retx", ["s2c"]),
  ...perDirection("bytes_retx[B]", tcpField("retxBytes")),
  ...perDirection("pkts_ooo", tcpField("outOfSequencePackets")),
  ...perDirection("syn_cnt", tcpField("syn")),
  ...perDirection("fin_cnt", tcpField("fin")),
  { name: "first[ms]", get: (f) => f.start },
  { name: "last[ms]", get: (f) => f.end },
  { name: "durat[ms]", short: "durat[ms]", get: (f) => f.durationMs },
  ...perDirection("first[ms]", (f, d) => tcpDir(f, d)?.firstPayloadMs ?? udpDir(f, d)?.firstMs ?? null),
  ...perDirection("last[ms]", (f, d) => tcpDir(f, d)?.lastPayloadMs ?? udpDir(f, d)?.lastMs ?? null),
  ...perDirection("first_ack[ms]", tcpField("firstAckMs")),
  ...perDirection("rtt_avg[ms]", (f, d) => tcpDir(f, d)?.rtt.mean ?? null, "rtt[ms]"),
  ...perDirection("rtt_min[ms]", (f, d) => tcpDir(f, d)?.rtt.min ?? null),
  ...perDirection("rtt_max[ms]", (f, d) => tcpDir(f, d)?.rtt.max ?? null),
  ...perDirection("rtt_std[ms]", (f, d) => tcpDir(f, d)?.rtt.std ?? null),
  ...perDirection("rtt_cnt", (f, d) => tcpDir(f, d)?.rtt.count ?? null),
  ...perDirection("ttl_min", (f, d) => f[d].ttlMin),
  ...perDirection("ttl_max", (f, d) => f[d].ttlMax),
  ...perDirection("win_scl_opt", tcpField("windowScaleOption")),
  ...perDirection("tm_opt", tcpField("timestampsOption")),
  ...perDirection("win_scl", tcpField("windowScale")),
  ...perDirection("sack_opt", tcpField("sackPermitted")),
  ...perDirection("sack_cnt", tcpField("sackSegments")),
  ...perDirection("mss[B]", tcpField("mss")),
  ...perDirection("mss_max[B]", tcpField("segmentMax")),
  ...perDirection("mss_min[B]", tcpField("segmentMin")),
  ...perDirection("win_max[B]", tcpField("windowMax")),
  ...perDirection("win_min[B]", tcpField("windowMin")),
  ...perDirection("win_0", tcpField("zeroWindowPackets")),
  ...perDirection("cwin_max[B]", tcpField("inflightMax")),
  ...perDirection("cwin_min[B]", tcpField("inflightMin")),
  ...perDirection("cwin_ini[B]", tcpField("inflightInitial")),
  ...perDirection("pkts_rto", tcpField("rto")),
  ...perDirection("pkts_fs", tcpField("fastRetransmit")),
  ...perDirection("pkts_reor", tcpField("reordering")),
  ...perDirection("pkts_dup", tcpField("networkDuplicate")),
  ...perDirection("pkts_unk", tcpField("unknown")),
  ...perDirection("pkts_fc", tcpField("flowControl")),
  ...perDirection("pkts_unrto", tcpField("unnecessaryRto")),
  ...perDirection("pkts_unfs", tcpField("unnecessaryFastRetransmit")),
  ...perDirection("syn_retx", tcpField("synRetx")),
  ...perDirection("iat_avg[ms]", (f, d) => udpDir(f, d)?.interArrival.mean ?? null),
  ...perDirection("iat_std[ms]", (f, d) => udpDir(f, d)?.interArrival.std ?? null),
  ...perDirection("size_avg[B]", (f, d) => udpDir(f, d)?.size.mean ?? null),
  ...perDirection("size_std[B]", (f, d) => udpDir(f, d)?.size.std ?? null),
  { name: "handshake", get: (f) => (f.proto === "tcp" ? f.handshake : null) },
  { name: "state", short: "state", get: (f) => f.state },
];

export const SERIES_COLUMNS_OUT: readonly { name: string; get: (s: TimeSeries, i: number) => number | null }[] = [
  { name: "start[s]", get: (s, i) => s.start[i]! },
  { name: "packets", get: (s, i) => s.packets[i]! },
  { name: "bytes[B]", get: (s, i) => s.bytes[i]! },
  { name: "up_bytes[B]", get: (s, i) => s.upBytes[i]! },
  { name: "down_bytes[B]", get: (s, i) => s.downBytes[i]! },
  { name: "down_tput[bit/s]", get: (s, i) => (s.downBytes[i]! * 8) / s.window },
  { name: "retx", get: (s, i) => s.retransmissions[i]! },
  { name: "ooo", get: (s, i) => s.outOfSequence[i]! },
  { name: "rtt_avg[ms]", get: (s, i) => s.rttMean[i] ?? null },
  { name: "rtt_cnt", get: (s, i) => s.rttSamples[i]! },
  { name: "active_flows", get: (s, i) => s.activeFlows?.[i] ?? null },
  { name: "new_flows", get: (s, i) => s.newFlows?.[i] ?? null },
];
