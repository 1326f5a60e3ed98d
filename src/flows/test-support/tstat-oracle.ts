/**
 * tstat 3.3 log_tcp_complete / log_tcp_nocomplete files as an oracle: parses them and prints a
 * qoelab flow's columns the way tstat prints them (integers; times and RTTs in ms with six
 * decimals, tstat's `%f`), so a comparison is text against text, with no tolerance.
 */
import { readFileSync } from "node:fs";
import type { TcpDirectionResult, TcpFlowResult } from "../results.ts";

export interface TstatLog {
  /** Column names in file order (from the `#15#name:index …` header). */
  columns: string[];
  rows: Record<string, string>[];
}

export function readTstatLog(path: string): TstatLog {
  const lines = readFileSync(path, "utf8").split("\n");
  const header = lines[0] ?? "";
  const columns = header
    .replace(/^#\d+#/, "")
    .trim()
    .split(/\s+/)
    .filter((c) => c.length > 0)
    .map((c) => c.replace(/:\d+$/, ""));
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const cells = line.trim().split(/\s+/);
    const row: Record<string, string> = {};
    columns.forEach((c, i) => {
      row[c] = cells[i] ?? "";
    });
    rows.push(row);
  }
  return { columns, rows };
}

/**
 * C's `%f`: six decimals, an exact half rounded to even (glibc), where JavaScript's toFixed rounds
 * it up (1627225020702.2890625 prints …289062 in C).
 */
export function printf6(v: number): string {
  const fixed = v.toFixed(6);
  const exact = v.toFixed(30);
  const dot = exact.indexOf(".");
  const tail = exact.slice(dot + 7);
  if (!/^50*$/.test(tail)) return fixed;
  const down = exact.slice(0, dot + 7);
  const lastDigit = Number(down[down.length - 1]);
  return lastDigit % 2 === 0 ? down : fixed;
}
const f6 = printf6;
const int = (v: number | boolean | null) => String(v === null ? 0 : v === true ? 1 : v === false ? 0 : v);
/** µs of a ms value that holds whole µs (the oracle captures have µs timestamps). */
const micros = (ms: number) => Math.round(ms * 1000);

/** Per-direction columns (without the c_/s_ prefix) as tstat prints them. */
const DIRECTION_COLUMNS: Record<string, (d: TcpDirectionResult, f: TcpFlowResult) => string> = {
  pkts_all: (d) => int(d.packets),
  rst_cnt: (d) => int(d.rst),
  ack_cnt: (d) => int(d.ackPackets),
  ack_cnt_p: (d) => int(d.pureAckPackets),
  bytes_uniq: (d) => int(d.uniqueBytes),
  pkts_data: (d) => int(d.dataPackets),
  bytes_all: (d) => int(d.dataBytes),
  pkts_retx: (d) => int(d.retxPackets),
  bytes_retx: (d) => int(d.retxBytes),
  pkts_ooo: (d) => int(d.outOfSequencePackets),
  syn_cnt: (d) => int(d.syn),
  fin_cnt: (d) => int(d.fin),
  // tstat's elapsed() is 0 when the later time is unset (a side that never sent data / an ACK).
  first: (d) => f6(d.firstPayloadMs ?? 0),
  last: (d) => f6(d.lastPayloadMs ?? 0),
  first_ack: (d) => f6(d.firstAckMs ?? 0),
  rtt_avg: (d) => f6(d.rtt.mean ?? 0),
  rtt_min: (d) => f6(d.rtt.min ?? 0),
  rtt_max: (d) => f6(d.rtt.max ?? 0),
  rtt_std: (d) => f6(d.rtt.std ?? 0),
  rtt_cnt: (d) => int(d.rtt.count),
  ttl_min: (d) => int(d.ttlMin),
  ttl_max: (d) => int(d.ttlMax),
  f1323_opt: (d) => int(d.windowScaleOption),
  tm_opt: (d) => int(d.timestampsOption),
  win_scl: (d) => int(d.windowScale),
  sack_opt: (d) => int(d.sackPermitted),
  sack_cnt: (d) => int(d.sackSegments),
  // tstat keeps the MSS in a signed 16-bit field: 65495 (loopback) prints as -41.
  mss: (d) => int(d.mss === null ? 0 : (d.mss << 16) >> 16),
  mss_max: (d) => int(d.segmentMax),
  mss_min: (d) => int(d.segmentMin),
  win_max: (d) => int(d.windowMax),
  win_min: (d) => int(d.windowMin),
  win_0: (d) => int(d.zeroWindowPackets),
  cwin_max: (d) => int(d.inflightMax),
  cwin_min: (d) => int(d.inflightMin),
  cwin_ini: (d) => int(d.inflightInitial),
  pkts_rto: (d) => int(d.rto),
  pkts_fs: (d) => int(d.fastRetransmit),
  pkts_reor: (d) => int(d.reordering),
  pkts_dup: (d) => int(d.networkDuplicate),
  pkts_unk: (d) => int(d.unknown),
  pkts_fc: (d) => int(d.flowControl),
  pkts_unrto: (d) => int(d.unnecessaryRto),
  pkts_unfs: (d) => int(d.unnecessaryFastRetransmit),
  syn_retx: (d) => int(d.synRetx),
};

const FLOW_COLUMNS: Record<string, (f: TcpFlowResult) => string> = {
  c_ip: (f) => f.client.address,
  c_port: (f) => String(f.client.port),
  s_ip: (f) => f.server.address,
  s_port: (f) => String(f.server.port),
  first: (f) => f6(micros(f.start) / 1000),
  last: (f) => f6(micros(f.end) / 1000),
  durat: (f) => f6((micros(f.end) - micros(f.start)) / 1000),
};

/** The 14 key columns the issue counts (packets, data packets, ACKs, bytes, retx, ooo; both directions). */
export const KEY_COLUMNS = [
  "pkts_all",
  "pkts_data",
  "ack_cnt",
  "bytes_uniq",
  "bytes_all",
  "pkts_retx",
  "pkts_ooo",
].flatMap((c) => [`c_${c}`, `s_${c}`]);

/** tstat columns qoelab computes (those of `columns` with a qoelab counterpart). */
export function comparableColumns(columns: readonly string[]): string[] {
  return columns.filter((c) => c in FLOW_COLUMNS || DIRECTION_COLUMNS[c.slice(2)] !== undefined);
}

/** A qoelab flow's value of tstat column `name`, printed as tstat prints it. */
export function tstatValue(flow: TcpFlowResult, name: string): string {
  const flowColumn = FLOW_COLUMNS[name];
  if (flowColumn) return flowColumn(flow);
  const column = DIRECTION_COLUMNS[name.slice(2)];
  if (!column) throw new Error(`no qoelab counterpart for tstat column ${name}`);
  return column(name.startsWith("c_") ? flow.c2s : flow.s2c, flow);
}

/** Key of a connection: endpoints and first packet (µs). */
export function rowKey(row: Record<string, string>): string {
  // tstat prints the double nearest to µs / 1000 (…386.450928 for …386451 µs): round back.
  const us = Math.round(Number(row.first) * 1000);
  return `${row.c_ip}:${row.c_port}-${row.s_ip}:${row.s_port}@${us}`;
}

export function flowKey(f: TcpFlowResult): string {
  return `${f.client.address}:${f.client.port}-${f.server.address}:${f.server.port}@${micros(f.start)}`;
}

export interface ColumnDifference {
  connection: string;
  column: string;
  tstat: string;
  qoelab: string;
}

/** Compares every comparable column of every row of `log` with the qoelab flow of the same key. */
export function compareLog(
  log: TstatLog,
  flows: readonly TcpFlowResult[],
): { connections: number; equal: number; missing: string[]; differences: ColumnDifference[] } {
  const byKey = new Map(flows.map((f) => [flowKey(f), f]));
  const columns = comparableColumns(log.columns);
  const differences: ColumnDifference[] = [];
  const missing: string[] = [];
  let equal = 0;
  for (const row of log.rows) {
    const key = rowKey(row);
    const flow = byKey.get(key);
    if (!flow) {
      missing.push(key);
      continue;
    }
    let same = true;
    for (const c of columns) {
      const ours = tstatValue(flow, c);
      if (ours !== row[c]) {
        same = false;
        differences.push({ connection: key, column: c, tstat: row[c] ?? "", qoelab: ours });
      }
    }
    if (same) equal++;
  }
  return { connections: log.rows.length, equal, missing, differences };
}
