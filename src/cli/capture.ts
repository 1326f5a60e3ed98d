import { resolve } from "node:path";
import type { Command } from "commander";
import { startCapture } from "../capture/index.ts";
import { QoelabError } from "../errors.ts";
import { emulatorTunName, findLinkEmulator } from "../netlab/index.ts";
import { JSON_OPTION, LAB_NAME_OPTION } from "./common-options.ts";
import { parseSeconds } from "./generator-option-parsers.ts";
import { findLabHost } from "./lab-host-args.ts";
import { printJson } from "./output.ts";
import { onceOnStopSignals } from "./stop-signals.ts";

interface CaptureOpts {
  interface?: string;
  host?: string;
  lab?: string;
  name?: string;
  filter?: string;
  write: string;
  duration?: string;
  snaplen?: string;
  count?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("capture")
    .description("capture packets with tcpdump (immediate mode; stopping writes every captured packet)")
    .option("-i, --interface <iface>", "interface (default: the lab host's lab-facing interface)")
    .option(
      "--host <lab:host>",
      "capture inside a lab host (client, server, router or LAB:HOST); on the emulator's TUN while it carries the link",
    )
    .option(...LAB_NAME_OPTION)
    .option("-f, --filter <expr>", "pcap-filter expression, e.g. 'udp port 5000'")
    .requiredOption("-w, --write <file>", "output pcap file")
    .option("--duration <s>", "stop after this long (bare number = s); otherwise on Ctrl-C")
    .option("--snaplen <bytes>", "bytes kept per packet", "262144")
    .option("-c, --count <n>", "stop after N packets (as Scapy's sniff(count=N))")
    .option(...JSON_OPTION)
    .action(async (opts: CaptureOpts) => {
      let netns: string | undefined;
      let iface = opts.interface;
      if (opts.host) {
        const host = await findLabHost(opts.host, opts.lab ?? opts.name ?? "lab");
        netns = host.netns;
        // Allow a link name ("router:server-side" or "server-side") or the veth itself as the interface.
        const link =
          iface === undefined
            ? host.interfaces.find((l) => l.iface === host.iface)
            : host.interfaces.find((l) => l.name === iface || l.name.endsWith(`:${iface}`) || l.iface === iface);
        iface = link?.iface ?? iface ?? host.iface;
        // While a link emulator carries this link, its TUN routes take the traffic off the veth:
        // capture there (IP packets, link type RAW), or the file stays empty.
        if (link && (await findLinkEmulator(host.lab, link.host, link.peer))) {
          const tun = emulatorTunName(host.lab, link.host, link.peer);
          process.stderr.write(
            `capture: the link emulator carries ${host.lab}:${link.name}; capturing on its TUN ${tun} (not ${link.iface}, which sees no traffic)\n`,
          );
          iface = tun;
        }
      }
      if (!iface) throw new QoelabError("CAPTURE_NO_INTERFACE", "capture: give -i IFACE or --host LAB:HOST");
      const count = opts.count !== undefined ? Number(opts.count) : undefined;
      if (count !== undefined && !(Number.isInteger(count) && count > 0))
        throw new QoelabError("CAPTURE_BAD_COUNT", `capture --count "${opts.count}": expected a whole number ≥ 1`);
      const durationS = parseSeconds(opts.duration, "--duration");
      const capture = await startCapture({
        netns,
        iface,
        filter: opts.filter,
        file: resolve(opts.write),
        snaplen: Number(opts.snaplen),
        ...(count !== undefined ? { count } : {}),
      });
      process.stderr.write(`capture: listening on ${netns ? `${netns}:` : ""}${iface} → ${capture.file}\n`);
      const stopped = new Promise<void>((done) => {
        const timer = durationS !== undefined ? setTimeout(done, durationS * 1000) : undefined;
        const finish = () => {
          if (timer) clearTimeout(timer);
          done();
        };
        onceOnStopSignals(finish);
        void capture.exited.then(finish);
      });
      await stopped;
      const result = await capture.stop();
      if (opts.json) {
        printJson({ file: result.file, packets: result.packets, received: result.received, dropped: result.dropped });
      } else {
        process.stdout.write(
          `${result.packets} packets captured (${result.received} received by filter, ${result.dropped} dropped by kernel) → ${result.file}\n`,
        );
      }
    });
}
