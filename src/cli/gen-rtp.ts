import type { Command } from "commander";
import { parseRtpCodec, readTelephoneWav, type SendRtpResult, sendRtp } from "../generator/index.ts";
import {
  destinationOption,
  GENERATOR_LOSS_OPTION,
  JSON_OPTION,
  LAB_HOST_OPTION,
  LOSS_MODEL_OPTION,
  type SenderOptionValues,
  SPIN_OPTION,
} from "./common-options.ts";
import { parseLossOptions } from "./generator-option-parsers.ts";
import { round6, sendCountRows, timingErrorRows } from "./generator-summary.ts";
import { delegatedToLabHost, resolveDestination } from "./lab-host-args.ts";
import { parseSeed, parseSsrc } from "./option-parsers.ts";
import { printFields, printJson } from "./output.ts";
import { withSigintAbort } from "./sigint.ts";

interface GenRtpOpts extends SenderOptionValues {
  wav: string;
  codec: string;
  ptime: string;
  rtcp?: boolean;
  ssrc?: string;
  spin: string;
}

function printResult(r: SendRtpResult, to: string): void {
  printFields("gen rtp", [
    ["destination", to],
    ["codec", `${r.codec} (PT ${r.payloadType}), ${r.ptimeMs} ms`],
    ["SSRC", `0x${r.ssrc.toString(16).padStart(8, "0")}`],
    ["first sequence / timestamp", `${r.firstSequence} / ${r.firstTimestamp}`],
    ...sendCountRows(r),
    ["RTCP packets", r.rtcpPackets],
    ["send errors", r.sendErrors],
    ["samples (silence padding)", `${r.samples} (${r.paddedSamples})`],
    ...timingErrorRows(r.timing),
    ["drift (ms)", round6(r.timing.driftMs)],
  ]);
}

/** `qoelab gen rtp`: a WAV as G.711 RTP on ptime deadlines. */
export function registerGenRtp(gen: Command): void {
  gen
    .command("rtp")
    .description("send a WAV as G.711 RTP (PCMU/PCMA) every ptime ms, optionally with RTCP SR/SDES/BYE")
    .requiredOption("--wav <file>", "speech to send (8 kHz mono; other rates/stereo converted when unambiguous)")
    .requiredOption(...destinationOption("server:5004"))
    .option("--codec <codec>", "pcmu (µ-law, PT 0) or pcma (A-law, PT 8)", "pcmu")
    .option("--ptime <ms>", "packetization time in ms", "20")
    .option("--rtcp", "send RTCP SR+SDES every 5 s and SR+SDES+BYE at the end, to port + 1")
    .option("--ssrc <x>", "SSRC (decimal or 0x hex; default random from the seed)")
    .option("--seed <n>", "seed of SSRC, first sequence number/timestamp and loss")
    .option(...GENERATOR_LOSS_OPTION)
    .option(...LOSS_MODEL_OPTION)
    .option(...SPIN_OPTION)
    .option(...LAB_HOST_OPTION)
    .option(...JSON_OPTION)
    .action(async (opts: GenRtpOpts) => {
      if (await delegatedToLabHost(opts.host, ["gen", "rtp"])) return;
      const codec = parseRtpCodec(opts.codec);
      const ptime = Number(opts.ptime);
      const ssrc = opts.ssrc !== undefined ? parseSsrc(opts.ssrc) : undefined;
      const seed = parseSeed(opts.seed);
      const lossModel = parseLossOptions(opts.loss, opts.lossModel);
      const { host, port } = await resolveDestination(opts.to);
      const audio = await readTelephoneWav(opts.wav);
      for (const c of audio.conversions) process.stderr.write(`gen rtp: ${opts.wav}: ${c}\n`);
      const result = await withSigintAbort((signal) =>
        sendRtp({
          host,
          port,
          pcm: audio.pcm,
          codec,
          ptimeMs: ptime,
          rtcp: opts.rtcp === true,
          spinMs: Number(opts.spin),
          signal,
          ...(ssrc !== undefined ? { ssrc } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(lossModel ? { loss: lossModel } : {}),
        }),
      );
      if (opts.json) printJson({ ...result, conversions: audio.conversions });
      else printResult(result, `${host}:${port}`);
    });
}
