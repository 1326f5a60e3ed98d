import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { analyzeCaptureFile, FLOW_COLUMNS, type FlowsResult, SERIES_COLUMNS_OUT } from "../flows/index.ts";
import { parseWindow } from "./option-parsers.ts";
import { type Cell, formatDelimited, formatTable, printJson, progressBarText } from "./output.ts";

type Format = "table" | "csv" | "tsv" | "json" | "ndjson";
const FORMATS: readonly Format[] = ["table", "csv", "tsv", "json", "ndjson"];

export { parseWindow };

function progressBar(): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    const pct = Math.min(100, Math.floor((done / total) * 100));
    if (pct === last) return;
    last = pct;
    process.stderr.write(`\r${progressBarText(pct / 100)} ${pct}%`);
    if (pct === 100) process.stderr.write("\n");
  };
}

function rowsOut(headers: string[], rows: Cell[][], format: Format): string {
  if (format === "csv") return formatDelimited(headers, rows, ",");
  if (format === "tsv") return formatDelimited(headers, rows, "\t");
  return `${formatTable(headers, rows)}\n`;
}

/** Renders a result in one of the text formats (json/ndjson handled by the caller). */
export function renderFlows(result: FlowsResult, format: Format, view: "flows" | "series" | "features"): string {
  if (view === "series") {
    const s = result.series;
    const columns =
      format === "table" ? SERIES_COLUMNS_OUT.filter((c) => c.name !== "up_bytes[B]") : SERIES_COLUMNS_OUT;
    const rows = s.start.map((_, i) => columns.map((c) => c.get(s, i)));
    return rowsOut(
      columns.map((c) => c.name),
      rows,
      format,
    );
  }
  if (view === "features") {
    const names = new Set<string>();
    for (const f of result.flows) for (const k of Object.keys(f.features ?? {})) names.add(k);
    const list = [...names];
    if (format === "table") {
      const rows: Cell[][] = Object.entries(result.features ?? {}).map(([k, v]) => [k, v]);
      return rowsOut(["capture feature", "value"], rows, format);
    }
    const headers = ["flow", "proto", "client", "server", ...list];
    const rows: Cell[][] = [
      ["capture", null, null, null, ...list.map((k) => result.features?.[k] ?? null)],
      ...result.flows.map((f, i) => [
        i,
        f.proto,
        `${f.client.address}:${f.client.port}`,
        `${f.server.address}:${f.server.port}`,
        ...list.map((k) => f.features?.[k] ?? null),
      ]),
    ];
    return rowsOut(headers, rows, format);
  }
  const columns =
    format === "table" ? FLOW_COLUMNS.filter((c) => c.short !== undefined) : FLOW_COLUMNS.filter((c) => !c.tableOnly);
  const headers = columns.map((c) => (format === "table" ? c.short! : c.name));
  const rows = result.flows.map((f) => columns.map((c) => c.get(f)));
  return rowsOut(headers, rows, format);
}

export function register(program: Command): void {
  program
    .command("flows")
    .description("per-flow TCP/UDP statistics (tstat log_tcp_complete semantics), time series and QoE features")
    .argument("<file>", "pcap or pcapng capture")
    .option("-f, --filter <expr>", "display filter applied before flow accounting")
    .option("--tcp", "TCP flows only")
    .option("--udp", "UDP flows only")
    .option("--window <duration>", "time-series window", "1s")
    .option(
      "--align <origin>",
      "where windows start: second (whole seconds) or first-packet (as tshark io,stat and Wireshark's I/O graph)",
      "second",
    )
    .option(
      "--tunnels <mode>",
      "frames of UDP tunnels (VXLAN, Geneve, GTP-U): outer (the tunnel's UDP flow) or both (also the flow inside, as tshark's conversations)",
      "outer",
    )
    .option("--format <format>", `output format: ${FORMATS.join("|")}`, "table")
    .option("--json", "same as --format json")
    .option("--series", "print the capture's time series (and keep per-flow series in JSON)")
    .option("--features", "print QoE features (capture and per flow)")
    .option("--workers <n>", "worker threads (default: auto for large files)")
    .option(
      "--track-all-segments",
      "TCP: record every segment for retransmissions (every hole; tstat max_seg_per_quad = 0) instead of tstat's 100 per quadrant",
    )
    .action(
      async (
        file: string,
        opts: {
          filter?: string;
          tcp?: boolean;
          udp?: boolean;
          window: string;
          align: string;
          tunnels: string;
          format: string;
          json?: boolean;
          series?: boolean;
          features?: boolean;
          workers?: string;
          trackAllSegments?: boolean;
        },
      ) => {
        const format = (opts.json ? "json" : opts.format) as Format;
        if (!FORMATS.includes(format)) {
          throw new QoelabError("CLI_BAD_FORMAT", `--format ${opts.format}: expected one of ${FORMATS.join(", ")}`);
        }
        if (opts.tcp && opts.udp) throw new QoelabError("CLI_BAD_OPTIONS", "--tcp and --udp exclude each other");
        if (opts.align !== "second" && opts.align !== "first-packet") {
          throw new QoelabError("CLI_BAD_ALIGN", `--align ${opts.align}: expected second or first-packet`);
        }
        if (opts.tunnels !== "outer" && opts.tunnels !== "both") {
          throw new QoelabError("CLI_BAD_TUNNELS", `--tunnels ${opts.tunnels}: expected outer or both`);
        }
        const workers = opts.workers === undefined ? "auto" : Number(opts.workers);
        if (workers !== "auto" && !(Number.isInteger(workers) && workers >= 1)) {
          throw new QoelabError("CLI_BAD_WORKERS", `--workers ${opts.workers}: expected a whole number ≥ 1`);
        }
        const { size } = await import("node:fs/promises").then((fs) => fs.stat(file)).catch(() => ({ size: 0 }));
        const progress = process.stdout.isTTY && size > 100 * 1024 * 1024 ? progressBar() : undefined;
        const result = await analyzeCaptureFile(file, {
          window: parseWindow(opts.window),
          windowOrigin: opts.align,
          tunnels: opts.tunnels,
          protocols: opts.tcp ? "tcp" : opts.udp ? "udp" : "both",
          series: opts.series === true,
          features: opts.features === true,
          tcpTrackAllSegments: opts.trackAllSegments === true,
          workers,
          ...(opts.filter ? { filter: opts.filter } : {}),
          ...(progress ? { onProgress: progress } : {}),
        });
        if (format === "json") {
          printJson(result);
          return;
        }
        if (format === "ndjson") {
          for (const flow of result.flows) process.stdout.write(`${JSON.stringify(flow)}\n`);
          return;
        }
        const view = opts.features ? "features" : opts.series ? "series" : "flows";
        process.stdout.write(renderFlows(result, format, view));
        if (format === "table" && view === "flows") {
          const c = result.capture;
          process.stdout.write(
            `${c.packets} packets, ${c.tcpFlows} TCP and ${c.udpFlows} UDP flows` +
              (c.malformedPackets > 0 ? `, ${c.malformedPackets} malformed packets` : "") +
              " (csv/json for every column)\n",
          );
        }
      },
    );
}
