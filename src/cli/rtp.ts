import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { plcAssumption } from "../quality/index.ts";
import { analyzeRtpStreams, extractRtpToWav, orderStreams, parseJitterBuffer } from "../voip/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { type Cell, formatDelimited, formatTable, printJson } from "./output.ts";

function hex(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(8, "0")}`;
}

function parseSsrc(text: string): number {
  const value = /^0x[0-9a-f]{1,8}$/i.test(text) ? Number.parseInt(text.slice(2), 16) : Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new QoelabError("CLI_BAD_SSRC", `--ssrc ${text}: expected a 32-bit number (decimal or 0x…)`, { value: text });
  }
  return value;
}

function parsePorts(text: string): number[] {
  return text.split(",").map((part) => {
    const port = Number(part.trim());
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new QoelabError("CLI_BAD_PORT", `--rtp-port ${text}: "${part}" is not a UDP port 1–65535`, { value: text });
    return port;
  });
}

/** `--plc` of rtp streams and rtp extract: what fills a lost packet's place. */
function parsePlc(text: string): "none" | "g711" {
  if (text !== "none" && text !== "g711")
    throw new QoelabError("CLI_BAD_PLC", `--plc ${text}: expected none or g711`, { value: text });
  return text;
}

export function register(program: Command): void {
  const rtp = program.command("rtp").description("RTP stream analysis and audio extraction");

  rtp
    .command("streams")
    .description("per-stream analysis like tshark -z rtp,streams, with an E-model estimate per stream")
    .argument("<file>", "pcap or pcapng capture")
    .option("--packets", "per-packet analysis as CSV (Wireshark RTP Stream Analysis)")
    .option(
      "--jitter-buffer <spec>",
      "receiver jitter buffer assumed for the E-model (as rtp extract's): none | fixed:<ms>ms | adaptive",
      "none",
    )
    .option(
      "--plc <mode>",
      "loss concealment assumed for the E-model, as rtp extract --plc: none (losses play as silence) | g711",
      "none",
    )
    .option("--network-delay <ms>", "one-way network delay to add to Ta (ms)", "0")
    .option("--rtp-port <ports>", "decode UDP to/from these ports as RTP (comma list), as tshark -d udp.port==P,rtp")
    .option(...JSON_OPTION)
    .action(
      async (
        file: string,
        opts: {
          packets?: boolean;
          jitterBuffer: string;
          plc: string;
          networkDelay: string;
          rtpPort?: string;
          json?: boolean;
        },
      ) => {
        const plc = parsePlc(opts.plc);
        const networkDelayMs = Number(opts.networkDelay);
        if (!Number.isFinite(networkDelayMs) || networkDelayMs < 0) {
          throw new QoelabError("CLI_BAD_DELAY", `--network-delay ${opts.networkDelay}: expected milliseconds ≥ 0`);
        }
        const streams = orderStreams(
          await analyzeRtpStreams(file, {
            packets: opts.packets ?? false,
            ...(opts.rtpPort !== undefined ? { rtpPorts: parsePorts(opts.rtpPort) } : {}),
            emodel: { jitterBuffer: parseJitterBuffer(opts.jitterBuffer), plc: plc === "g711", networkDelayMs },
          }),
        );
        if (opts.json) {
          printJson(streams);
          return;
        }
        if (opts.packets) {
          const rows: Cell[][] = [];
          for (const s of streams) {
            for (const r of s.rows ?? []) {
              rows.push([
                hex(s.ssrc),
                r.frame,
                r.sequence,
                r.time.toFixed(6),
                r.deltaMs.toFixed(3),
                r.jitterMs.toFixed(3),
                r.skewMs.toFixed(3),
                r.bandwidthKbps.toFixed(2),
                r.marker ? "SET" : "",
                r.status,
              ]);
            }
          }
          process.stdout.write(
            formatDelimited(
              [
                "ssrc",
                "frame",
                "seq",
                "time",
                "delta_ms",
                "jitter_ms",
                "skew_ms",
                "bandwidth_kbps",
                "marker",
                "status",
              ],
              rows,
            ),
          );
          return;
        }
        const rows = streams.map((s, i) => [
          i + 1,
          s.startTime.toFixed(6),
          s.endTime.toFixed(6),
          s.srcAddress,
          s.srcPort,
          s.dstAddress,
          s.dstPort,
          hex(s.ssrc),
          s.payloads,
          s.packets,
          `${s.lost} (${s.lostPercent.toFixed(1)}%)`,
          s.sequenceErrors,
          s.duplicates,
          s.minDeltaMs.toFixed(3),
          s.meanDeltaMs.toFixed(3),
          s.maxDeltaMs.toFixed(3),
          s.minJitterMs.toFixed(3),
          s.meanJitterMs.toFixed(3),
          s.maxJitterMs.toFixed(3),
          s.estimate ? s.estimate.R.toFixed(1) : "",
          s.estimate ? s.estimate.mos.toFixed(2) : "",
          s.estimate ? plcAssumption(s.estimate.plc).label : "",
          s.problem ? "X" : "",
        ]);
        process.stdout.write(
          `${formatTable(
            [
              "#",
              "start",
              "end",
              "src",
              "sport",
              "dst",
              "dport",
              "ssrc",
              "payload",
              "pkts",
              "lost",
              "seq_err",
              "dup",
              "min_delta",
              "mean_delta",
              "max_delta",
              "min_jitter",
              "mean_jitter",
              "max_jitter",
              "R",
              "MOS-CQE",
              "E-model",
              "problems",
            ],
            rows,
          )}\n`,
        );
        const estimate = streams.find((s) => s.estimate)?.estimate;
        if (estimate) process.stdout.write(`E-model: ${estimate.assumptions}\n`);
      },
    );

  rtp
    .command("extract")
    .description("decode one G.711 stream to a WAV (gaps: silence or G.711 Appendix I PLC)")
    .argument("<file>", "pcap or pcapng capture")
    .requiredOption("-o, --output <wav>", "output WAV (8 kHz mono 16-bit)")
    .option("--ssrc <ssrc>", "stream to extract (decimal or 0x…)")
    .option("--rtp-port <ports>", "decode UDP to/from these ports as RTP (comma list)")
    .option("--stream <n>", "the N-th stream as rtp streams lists them (# column; one SSRC may be two streams)")
    .option("--jitter-buffer <spec>", "none | fixed:<ms>ms | adaptive", "none")
    .option("--plc <mode>", "none | g711", "none")
    .option(...JSON_OPTION)
    .action(
      async (
        file: string,
        opts: {
          output: string;
          ssrc?: string;
          stream?: string;
          rtpPort?: string;
          jitterBuffer: string;
          plc: string;
          json?: boolean;
        },
      ) => {
        const plc = parsePlc(opts.plc);
        const result = await extractRtpToWav(file, opts.output, {
          ssrc: opts.ssrc === undefined ? undefined : parseSsrc(opts.ssrc),
          ...(opts.stream !== undefined ? { stream: Number(opts.stream) } : {}),
          ...(opts.rtpPort !== undefined ? { rtpPorts: parsePorts(opts.rtpPort) } : {}),
          jitterBuffer: parseJitterBuffer(opts.jitterBuffer),
          plc,
        });
        const summary = {
          output: opts.output,
          ssrc: hex(result.stream.ssrc),
          codec: result.stream.payloadName,
          samples: result.samples.length,
          seconds: result.samples.length / 8000,
          packets: result.packets,
          played: result.played,
          lost: result.lostSequences.length,
          late: result.late,
          duplicates: result.duplicates,
          gaps: result.gaps.length,
          jitterBuffer: result.jitterBuffer,
          plc: result.plc,
        };
        if (opts.json) {
          printJson({ ...summary, gapList: result.gaps });
          return;
        }
        process.stdout.write(`${formatTable(Object.keys(summary), [Object.values(summary) as Cell[]])}\n`);
      },
    );
}
