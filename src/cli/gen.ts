import { setPriority } from "node:os";
import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import {
  type GenUdpResult,
  genUdp,
  parseIntervalDist,
  parsePacketRate,
  type RecvUdpResult,
  readReplaySource,
  replayCapture,
  startRecvUdp,
} from "../generator/index.ts";
import {
  destinationOption,
  GENERATOR_LOSS_OPTION,
  JSON_OPTION,
  LAB_HOST_OPTION,
  LOSS_MODEL_OPTION,
  type SenderOptionValues,
  SPIN_OPTION,
} from "./common-options.ts";
import { registerGenRtp } from "./gen-rtp.ts";
import { parseLossOptions, parseSeconds } from "./generator-option-parsers.ts";
import { round6, sendCountRows, timingErrorRows } from "./generator-summary.ts";
import { delegatedToLabHost, resolveDestination } from "./lab-host-args.ts";
import { type FieldRow, printFields, printJson } from "./output.ts";
import { withSigintAbort } from "./sigint.ts";

function printGen(result: GenUdpResult): void {
  const t = result.timing;
  printFields("gen udp", [
    ["seed", result.seed],
    ...sendCountRows(result),
    ["send errors", result.sendErrors],
    ["achieved rate (pps)", round6(result.achievedPps)],
    ...timingErrorRows(t),
    ["timing error max (ms)", round6(t.maxErrorMs)],
    ["drift (ms)", round6(t.driftMs)],
  ]);
}

function printRecv(r: RecvUdpResult): void {
  const rows: FieldRow[] = [
    ["received", r.received],
    ["expected", r.expected],
    ["lost", r.lost],
    ["loss %", round6(r.lossPercent)],
    ["reordered", r.reordered],
    ["duplicates", r.duplicates],
    ["other packets", r.otherPackets],
    ["jitter RFC 3550 (ms)", round6(r.jitterMs)],
    ["IPDV p50 (ms)", round6(r.ipdvMs.p50)],
    ["IPDV p99 (ms)", round6(r.ipdvMs.p99)],
    ["IPDV min/max (ms)", `${round6(r.ipdvMs.min)} / ${round6(r.ipdvMs.max)}`],
  ];
  if (r.oneWayDelayMs) {
    rows.push(
      ["one-way delay p50 (ms)", round6(r.oneWayDelayMs.p50)],
      ["one-way delay p99 (ms)", round6(r.oneWayDelayMs.p99)],
    );
  }
  printFields("recv udp", rows);
}

interface GenOpts extends SenderOptionValues {
  rate: string;
  size: string;
  count?: string;
  duration?: string;
  intervalDist: string;
  spin?: string;
  boost: boolean;
}

interface RecvOpts {
  port: string;
  count?: string;
  duration?: string;
  idle?: string;
  wait?: string;
  expect?: string;
  ipv6?: boolean;
  host?: string;
  json?: boolean;
}

function positiveInt(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new QoelabError("GEN_BAD_NUMBER", `${what} "${text}": expected a whole number`);
  return n;
}

export function register(program: Command): void {
  const gen = program.command("gen").description("traffic generators with deadline scheduling");
  gen
    .command("udp")
    .description("send UDP probes (sequence number + send time) at a precise rate")
    .requiredOption(...destinationOption("server:5000"))
    .option("--rate <rate>", "packets per second (50pps, 2kpps, max) or a bit rate (64kbit)", "50pps")
    .option("--size <bytes>", "UDP payload bytes (≥ 24)", "172")
    .option("--count <n>", "packets to send")
    .option("--duration <s>", "seconds to send (bare number = s)")
    .option("--interval-dist <dist>", "const | uniform[,spread] | exp | normal[,sd] | pareto[,alpha]", "const")
    .option(...GENERATOR_LOSS_OPTION)
    .option(...LOSS_MODEL_OPTION)
    .option("--seed <n>", "random seed (intervals and loss)")
    .option(...SPIN_OPTION)
    .option("--no-boost", "keep the default CPU priority (root: nice −20 otherwise, for timing)")
    .option(...LAB_HOST_OPTION)
    .option(...JSON_OPTION)
    .action(async (opts: GenOpts) => {
      if (await delegatedToLabHost(opts.host, ["gen", "udp"])) return;
      const { host, port } = await resolveDestination(opts.to);
      const size = positiveInt(opts.size, "--size") ?? 172;
      const wire = size + (host.includes(":") ? 48 : 28);
      const rate =
        opts.rate.trim().toLowerCase() === "max" ? Number.POSITIVE_INFINITY : parsePacketRate(opts.rate, wire);
      const lossModel = parseLossOptions(opts.loss, opts.lossModel);
      if (opts.boost) {
        // Less preemption by other processes on a busy machine: the send deadlines hold better.
        try {
          setPriority(0, -20);
        } catch {
          // not root: keep the default priority
        }
      }
      const result = await withSigintAbort((signal) =>
        genUdp({
          host,
          port,
          rate,
          size,
          count: positiveInt(opts.count, "--count"),
          durationS: parseSeconds(opts.duration, "--duration"),
          intervalDist: parseIntervalDist(opts.intervalDist),
          loss: lossModel,
          seed: positiveInt(opts.seed, "--seed"),
          spinMs: Number(opts.spin),
          signal,
        }),
      );
      if (opts.json) printJson(result);
      else printGen(result);
    });

  const recv = program.command("recv").description("receivers matching the generators");
  recv
    .command("udp")
    .description("receive gen udp probes: loss, reordering, duplicates, jitter, IPDV, one-way delay")
    .requiredOption("--port <port>", "UDP port to listen on")
    .option("--count <n>", "stop after this many distinct packets")
    .option("--duration <s>", "stop this long after the first packet (bare number = s)")
    .option("--idle <s>", "stop when nothing arrived for this long after the first packet (bare number = s)")
    .option("--wait <s>", "give up when no packet arrived this long after the start (bare number = s)")
    .option("--expect <n>", "sequence numbers 0…n−1 were sent (counts tail losses)")
    .option("--ipv6", "listen on IPv6 (::)")
    .option(...LAB_HOST_OPTION)
    .option(...JSON_OPTION)
    .action(async (opts: RecvOpts) => {
      if (await delegatedToLabHost(opts.host, ["recv", "udp"])) return;
      const port = positiveInt(opts.port, "--port") ?? 0;
      const result = await withSigintAbort(async (signal) => {
        const receiver = await startRecvUdp({
          port,
          ipv6: opts.ipv6,
          count: positiveInt(opts.count, "--count"),
          durationS: parseSeconds(opts.duration, "--duration"),
          idleS: parseSeconds(opts.idle, "--idle"),
          waitS: parseSeconds(opts.wait, "--wait"),
          expect: positiveInt(opts.expect, "--expect"),
          signal,
        });
        process.stderr.write(`recv udp: listening on port ${receiver.port}\n`);
        return receiver.done;
      });
      if (opts.json) printJson({ ...result, lostSeqs: result.lostSeqs });
      else printRecv(result);
    });

  // `gen rtp` lives beside the RTP sender it drives.
  registerGenRtp(gen);

  program
    .command("replay")
    .description("re-send a capture's RTP (or UDP) payloads with their original timing")
    .argument("<capture>", "pcap or pcapng file")
    .requiredOption(...destinationOption("server:5004"))
    .option("--ssrc <n>", "which RTP stream (decimal or 0x…); needed when the capture holds several")
    .option("--set-ssrc <n>", "rewrite the SSRC of the replayed stream")
    .option("--speed <x>", "time scale (2 = twice as fast)", "1")
    .option("--loss <p>", "generator-side loss (1% or 0.01)")
    .option(...LOSS_MODEL_OPTION)
    .option("--seed <n>", "random seed of the loss model")
    .option(...LAB_HOST_OPTION)
    .option(...JSON_OPTION)
    .action(async (capture: string, opts: SenderOptionValues & { ssrc?: string; setSsrc?: string; speed: string }) => {
      if (await delegatedToLabHost(opts.host, ["replay"])) return;
      const ssrcNumber = (text: string | undefined, what: string) => {
        if (text === undefined) return undefined;
        const n = Number(text);
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
          throw new QoelabError("GEN_BAD_NUMBER", `${what} "${text}": expected 0…0xffffffff`);
        }
        return n;
      };
      const speed = Number(opts.speed);
      if (!(speed > 0)) throw new QoelabError("GEN_BAD_NUMBER", `--speed "${opts.speed}": expected a number > 0`);
      const { host, port } = await resolveDestination(opts.to);
      const ssrc = ssrcNumber(opts.ssrc, "--ssrc");
      const source = await readReplaySource(capture, ssrc !== undefined ? { ssrc } : {});
      const lossModel = parseLossOptions(opts.loss, opts.lossModel);
      const result = await withSigintAbort((signal) => {
        const setSsrc = ssrcNumber(opts.setSsrc, "--set-ssrc");
        return replayCapture({
          source,
          host,
          port,
          speed,
          loss: lossModel,
          seed: positiveInt(opts.seed, "--seed"),
          ...(setSsrc !== undefined ? { setSsrc } : {}),
          signal,
        });
      });
      if (opts.json) {
        printJson(result);
        return;
      }
      printFields("replay", [
        ["source", result.source],
        ["kind", result.kind],
        ...sendCountRows(result),
        ["send errors", result.sendErrors],
        ["original duration (ms)", round6(result.originalDurationMs)],
        ...timingErrorRows(result.timing),
      ]);
    });
}
