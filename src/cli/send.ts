import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { parseTime } from "../generator/index.ts";
import { type AnsweredPair, send, sr, sr1 } from "../net/index.ts";
import { LAB_NAME_OPTION } from "./common-options.ts";
import { findLabHost } from "./lab-host-args.ts";
import { printJson } from "./output.ts";

interface SendCliOpts {
  netns?: string;
  host?: string;
  lab: string;
  iface?: string;
  count: string;
  inter?: string;
  sr1?: boolean;
  sr?: boolean;
  timeout: string;
  verbose?: boolean;
  json?: boolean;
}

function printPair(pair: AnsweredPair, verbose: boolean): void {
  process.stdout.write(`${pair.sent.summary()}\n  ==> ${pair.answer.summary()}  (${pair.rttMs.toFixed(3)} ms)\n`);
  if (verbose) process.stdout.write(`${pair.answer.show()}\n\n`);
}

export function register(program: Command): void {
  program
    .command("send")
    .description(
      "send a crafted packet (Scapy's send/sr/sr1): layer 3 through a raw IP socket, or layer 2 when LAYERS starts with ether",
    )
    .argument("<layers>", "layer description as pcap craft takes it, e.g. 'ipv4(dst=10.77.0.130)/icmp'")
    .option("--netns <name>", "send from this network namespace (ip netns list)")
    .option("--host <lab:host>", "send from a lab host (client, server, router or LAB:HOST)")
    .option(...LAB_NAME_OPTION)
    .option("--iface <if>", "interface: where a layer-2 packet leaves, and where answers are read (default: all)")
    .option("-c, --count <n>", "copies to send", "1")
    .option("--inter <time>", "pause between two sends (bare number = ms), e.g. 10ms")
    .option("--sr1", "wait for the first answer and print it (like pcap show)")
    .option("--sr", "list every (sent, answer) pair and the unanswered")
    .option("--timeout <time>", "how long to wait for answers after the last send (bare number = s)", "2s")
    .option("-v, --verbose", "every field of each answer (show())")
    .option("--json", "print JSON (the decoded layers)")
    .action(async (layers: string, opts: SendCliOpts) => {
      if (opts.netns && opts.host) throw new QoelabError("CLI_BAD_OPTIONS", "send: give --netns or --host, not both");
      if (opts.sr1 && opts.sr) throw new QoelabError("CLI_BAD_OPTIONS", "send: give --sr1 or --sr, not both");
      let netns = opts.netns;
      let iface = opts.iface;
      if (opts.host) {
        const host = await findLabHost(opts.host, opts.lab);
        netns = host.netns;
        const link = iface ? host.interfaces.find((l) => l.name === iface || l.name.endsWith(`:${iface}`)) : undefined;
        if (link) iface = link.iface;
      }
      const count = Number(opts.count);
      const options = {
        ...(netns ? { netns } : {}),
        ...(iface ? { iface } : {}),
        count,
        ...(opts.inter !== undefined ? { interMs: parseTime(opts.inter, "--inter", { bare: "ms" }) * 1000 } : {}),
        timeoutMs: parseTime(opts.timeout, "--timeout", { bare: "s" }) * 1000,
      };
      if (opts.sr1) {
        const pair = await sr1(layers, options);
        if (opts.json) printJson(pair ? { sent: pair.sent, answer: pair.answer, rttMs: pair.rttMs } : { answer: null });
        else if (pair) printPair(pair, opts.verbose ?? false);
        else process.stderr.write(`send: no answer within ${opts.timeout}\n`);
        if (!pair) process.exitCode = 1;
        return;
      }
      if (opts.sr) {
        const r = await sr(layers, options);
        if (opts.json) {
          printJson({ answered: r.answered, unanswered: r.unanswered });
          return;
        }
        process.stdout.write(
          `sent ${r.answered.length + r.unanswered.length} packets, ${r.answered.length} answered, ${r.unanswered.length} unanswered\n`,
        );
        for (const pair of r.answered) printPair(pair, opts.verbose ?? false);
        for (const p of r.unanswered) process.stdout.write(`${p.summary()}\n  ==> (no answer)\n`);
        return;
      }
      const sent = await send(layers, options);
      if (opts.json) {
        printJson(sent.map((s) => ({ sentAt: s.sentAt, packet: s.packet })));
        return;
      }
      for (const s of sent) process.stdout.write(`${s.packet.summary()}\n`);
      process.stdout.write(`sent ${sent.length} packet${sent.length === 1 ? "" : "s"}\n`);
    });
}
