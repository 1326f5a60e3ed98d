import repl from "node:repl";
import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import * as net from "../net/index.ts";
import * as packet from "../packet/index.ts";
import { LAB_NAME_OPTION } from "./common-options.ts";
import { findLabHost } from "./lab-host-args.ts";

/** What the shell puts in scope: the builder, the layer description parser, sending and capture files. */
export function shellContext(): Record<string, unknown> {
  return {
    // Builder: ether(), ipv4({ dst }), udp({ dport }), raw("text"), … stacked with .over() or stack().
    ether: packet.ether,
    vlan: packet.vlan,
    arp: packet.arp,
    ipv4: packet.ipv4,
    ipv6: packet.ipv6,
    icmp: packet.icmp,
    icmpv6: packet.icmpv6,
    udp: packet.udp,
    tcp: packet.tcp,
    rtp: packet.rtp,
    sip: packet.sip,
    raw: packet.raw,
    stack: packet.stack,
    /** A layer description as pcap craft and send take it: craft("ipv4(dst=10.77.0.2)/icmp"). */
    craft: packet.parseLayerSpec,
    decode: packet.decodePacket,
    send: net.send,
    sr: net.sr,
    sr1: net.sr1,
    sniff: net.sniff,
    rdpcap: net.rdpcap,
    wrpcap: net.wrpcap,
    answers: net.answers,
  };
}

export function register(program: Command): void {
  program
    .command("shell")
    .description(
      "an interactive TypeScript-syntax shell with the packet builder, send/sr/sr1/sniff and rdpcap/wrpcap in scope",
    )
    .option("--netns <name>", "default namespace for send/sr/sr1/sniff (a lab host's, e.g. qoelab-lab-client)")
    .option("--host <lab:host>", "default lab host for send/sr/sr1/sniff (client, server, router or LAB:HOST)")
    .option(...LAB_NAME_OPTION)
    .action(async (opts: { netns?: string; host?: string; lab: string }) => {
      if (opts.netns && opts.host) throw new QoelabError("CLI_BAD_OPTIONS", "shell: give --netns or --host, not both");
      // The same host names as send and capture take, resolved before the prompt appears.
      const hostNetns = opts.host ? (await findLabHost(opts.host, opts.lab)).netns : undefined;
      process.stdout.write(
        "qoelab shell: ether ipv4 ipv6 icmp udp tcp raw … craft send sr sr1 sniff rdpcap wrpcap (await the network ones; Tab completes)\n",
      );
      const server = repl.start({ prompt: "qoelab> ", useGlobal: true });
      // Node's REPL reads the next line while an awaited one is still pending; a lab script piped in
      // (qoelab shell < lab.ts) needs each line to see the previous one's result, so evaluate in turn.
      const evaluate = server.eval;
      let previous = Promise.resolve();
      const inTurn: repl.REPLEval = (code, context, file, done) => {
        previous = previous.then(
          () =>
            new Promise<void>((next) =>
              evaluate.call(server, code, context, file, (error, result) => {
                done(error, result);
                next();
              }),
            ),
        );
      };
      (server as { eval: repl.REPLEval }).eval = inTurn;
      const context = shellContext();
      const netns = opts.netns ?? hostNetns;
      if (netns) {
        const withNetns =
          <T extends (p: never, o?: Record<string, unknown>) => unknown>(fn: T) =>
          (p: never, o: Record<string, unknown> = {}) =>
            fn(p, { netns, ...o });
        context.send = withNetns(net.send as never);
        context.sr = withNetns(net.sr as never);
        context.sr1 = withNetns(net.sr1 as never);
        context.sniff = (o: Record<string, unknown> = {}) => net.sniff({ netns, ...o });
      }
      Object.assign(server.context, context);
    });
}
