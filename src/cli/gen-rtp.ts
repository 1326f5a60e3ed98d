import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import {
  parseLossModel,
  parseProbability,
  parseRtpCodec,
  readTelephoneWav,
  type SendRtpResult,
  sendRtp,
} from "../generator/index.ts";
import { getLab, labHost, parseHostRef, qoelabCommand } from "../netlab/index.ts";
import { formatTable, printJson } from "./output.ts";

/** Re-runs this command inside a lab host's namespace (without --host); resolves with its exit code. */
export async function runInLabHost(hostRef: string, subcommand: readonly string[]): Promise<number> {
  const ref = parseHostRef(hostRef);
  const host = labHost(await getLab(ref.lab), ref.host);
  const argv = process.argv.slice(2);
  const start = argv.findIndex((_a, i) => subcommand.every((word, k) => argv[i + k] === word));
  const rest = start >= 0 ? argv.slice(start + subcommand.length) : argv;
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "--host") i++;
    else if (!a.startsWith("--host=")) args.push(a);
  }
  const child = host.spawn(qoelabCommand([...subcommand, ...args]), { stdio: "inherit" });
  const forward = () => child.kill("SIGINT");
  process.once("SIGINT", forward);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      process.off("SIGINT", forward);
      resolve(code ?? 1);
    });
  });
}

/** "H:P", "[v6]:P", or a lab host "server:5004" / "lab:server:5004". */
export async function resolveDestination(text: string, option = "--to"): Promise<{ host: string; port: number }> {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const m = v6 ?? /^(.*):(\d+)$/.exec(text);
  if (!m) throw new QoelabError("GEN_BAD_DESTINATION", `${option} "${text}": expected HOST:PORT (IPv6 as [addr]:port)`);
  const port = Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new QoelabError("GEN_BAD_PORT", `${option} "${text}": port must be 1…65535`);
  let host = m[1] as string;
  if (!v6 && /(^|:)(client|server|router)$/.test(host)) {
    const ref = parseHostRef(host);
    host = labHost(await getLab(ref.lab), ref.host).address;
  }
  return { host, port };
}

/** "0x1234abcd" or a decimal → unsigned 32-bit SSRC. */
export function parseSsrc(text: string, option = "--ssrc"): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]{1,8}$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff)) {
    throw new QoelabError("GEN_BAD_SSRC", `${option} "${text}": expected a 32-bit number (decimal or 0x hex)`, {
      option,
      value: text,
    });
  }
  return n;
}

export function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff)) {
    throw new QoelabError("GEN_BAD_SEED", `--seed "${text}": expected a whole number 0…4294967295`);
  }
  return n;
}

interface GenRtpOpts {
  wav: string;
  codec: string;
  ptime: string;
  to: string;
  rtcp?: boolean;
  ssrc?: string;
  seed?: string;
  loss?: string;
  lossModel?: string;
  spin: string;
  host?: string;
  json?: boolean;
}

const ms = (v: number) => Math.round(v * 1e6) / 1e6;

function printResult(r: SendRtpResult, to: string): void {
  const t = r.timing;
  const rows: [string, string | number][] = [
    ["destination", to],
    ["codec", `${r.codec} (PT ${r.payloadType}), ${r.ptimeMs} ms`],
    ["SSRC", `0x${r.ssrc.toString(16).padStart(8, "0")}`],
    ["first sequence / timestamp", `${r.firstSequence} / ${r.firstTimestamp}`],
    ["packets", r.packets],
    ["sent", r.sent],
    ["dropped by loss model", r.droppedByModel],
    ["RTCP packets", r.rtcpPackets],
    ["send errors", r.sendErrors],
    ["samples (silence padding)", `${r.samples} (${r.paddedSamples})`],
    ["timing error mean (ms)", ms(t.meanErrorMs)],
    ["timing error p99 (ms)", ms(t.p99ErrorMs)],
    ["drift (ms)", ms(t.driftMs)],
  ];
  process.stdout.write(`${formatTable(["gen rtp", "value"], rows)}\n`);
}

/** `qoelab gen rtp`: a WAV as G.711 RTP on ptime deadlines. */
export function registerGenRtp(gen: Command): void {
  gen
    .command("rtp")
    .description("send a WAV as G.711 RTP (PCMU/PCMA) every ptime ms, optionally with RTCP SR/SDES/BYE")
    .requiredOption("--wav <file>", "speech to send (8 kHz mono; other rates/stereo converted when unambiguous)")
    .requiredOption("--to <host:port>", "destination: address:port, [v6]:port, or a lab host (server:5004)")
    .option("--codec <codec>", "pcmu (µ-law, PT 0) or pcma (A-law, PT 8)", "pcmu")
    .option("--ptime <ms>", "packetization time in ms", "20")
    .option("--rtcp", "send RTCP SR+SDES every 5 s and SR+SDES+BYE at the end, to port + 1")
    .option("--ssrc <x>", "SSRC (decimal or 0x hex; default random from the seed)")
    .option("--seed <n>", "seed of SSRC, first sequence number/timestamp and loss")
    .option("--loss <p>", "generator-side loss (1% or 0.01): packets skipped, sequence numbers kept")
    .option("--loss-model <model>", "bernoulli | gilbert:p,r[,1-k,1-h] | state:p13[,…]")
    .option("--spin <ms>", "busy-wait this long before each deadline", "1.5")
    .option("--host <lab:host>", "run inside a lab host")
    .option("--json", "print JSON")
    .action(async (opts: GenRtpOpts) => {
      if (opts.host) {
        process.exitCode = await runInLabHost(opts.host, ["gen", "rtp"]);
        return;
      }
      const codec = parseRtpCodec(opts.codec);
      const ptime = Number(opts.ptime);
      const ssrc = opts.ssrc !== undefined ? parseSsrc(opts.ssrc) : undefined;
      const seed = parseSeed(opts.seed);
      const loss = opts.loss !== undefined ? parseProbability(opts.loss, "--loss", "GEN_BAD_LOSS") : undefined;
      const lossModel =
        opts.loss !== undefined || opts.lossModel !== undefined ? parseLossModel(opts.lossModel, loss) : undefined;
      const { host, port } = await resolveDestination(opts.to);
      const audio = await readTelephoneWav(opts.wav);
      for (const c of audio.conversions) process.stderr.write(`gen rtp: ${opts.wav}: ${c}\n`);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once("SIGINT", onSigint);
      try {
        const result = await sendRtp({
          host,
          port,
          pcm: audio.pcm,
          codec,
          ptimeMs: ptime,
          rtcp: opts.rtcp === true,
          spinMs: Number(opts.spin),
          signal: controller.signal,
          ...(ssrc !== undefined ? { ssrc } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(lossModel ? { loss: lossModel } : {}),
        });
        if (opts.json) printJson({ ...result, conversions: audio.conversions });
        else printResult(result, `${host}:${port}`);
      } finally {
        process.off("SIGINT", onSigint);
      }
    });
}
