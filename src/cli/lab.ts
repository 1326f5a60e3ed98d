import type { Command } from "commander";
import { labDown, labStatus, labUp } from "../netlab/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { findLabHost } from "./lab-host-args.ts";
import { labName, labOptions } from "./lab-options.ts";
import { splitList } from "./option-parsers.ts";
import { formatTable, printJson } from "./output.ts";

export function register(program: Command): void {
  const lab = program.command("lab").description("lab hosts: network namespaces joined by veth links");

  lab
    .command("up")
    .description("create the lab hosts (idempotent)")
    .option("--router", "client — router — server instead of client — server", false)
    .option(
      "--subnet <cidr>",
      "IPv4 prefix inside 10.77.0.0/16 (default 10.77.0.0/24; with an uplink, a /24 of its own)",
    )
    .option("--ipv6", "also give every interface an fd00:77::/48 address", false)
    .option("--uplink", "join the router to this host; the host forwards and masquerades the lab's traffic", false)
    .option("--uplink-allow <cidrs>", "with --uplink: only these destinations (comma-separated IPv4 prefixes)")
    .option("--uplink-host-only", "with --uplink: reach this host only, no forwarding", false)
    .option(...JSON_OPTION);
  labOptions(lab.commands.at(-1) as Command, "lab name (≤ 10 lowercase letters/digits)", "lab").action(
    async (opts: {
      lab: string;
      name?: string;
      router: boolean;
      subnet?: string;
      ipv6: boolean;
      uplink: boolean;
      uplinkAllow?: string;
      uplinkHostOnly: boolean;
      json?: boolean;
    }) => {
      const uplink = opts.uplink || opts.uplinkAllow !== undefined || opts.uplinkHostOnly;
      const result = await labUp({
        name: labName(opts) ?? "lab",
        router: opts.router,
        ...(opts.subnet !== undefined ? { subnet: opts.subnet } : {}),
        ipv6: opts.ipv6,
        ...(uplink
          ? {
              uplink: {
                forward: !opts.uplinkHostOnly,
                ...(opts.uplinkAllow !== undefined ? { allow: splitList(opts.uplinkAllow) } : {}),
              },
            }
          : {}),
      });
      if (opts.json) {
        printJson({ name: result.name, config: result.config, links: result.links, uplink: result.uplink });
        return;
      }
      const rows = Object.values(result.links).map((l) => [
        l.name,
        l.netns,
        l.iface,
        `${l.address}/${l.prefix}`,
        l.address6 ?? "",
      ]);
      const u = result.uplink;
      if (u) {
        rows.push(["router:uplink-side", u.netns, u.routerIface, `${u.routerAddress}/${u.prefix}`, ""]);
        rows.push(["host:uplink-side", "(this host)", u.hostIface, `${u.hostAddress}/${u.prefix}`, ""]);
      }
      process.stdout.write(`${formatTable(["link", "netns", "iface", "address", "address6"], rows)}\n`);
    },
  );

  lab.command("down").description("remove the lab and everything qoelab attached to it");
  labOptions(lab.commands.at(-1) as Command, "lab name", "lab").action(async (opts: { lab: string; name?: string }) => {
    const name = labName(opts) ?? "lab";
    const { removed } = await labDown(name);
    process.stdout.write(removed ? `lab ${name}: removed\n` : `lab ${name}: not up\n`);
  });

  lab
    .command("status")
    .description("labs qoelab created, with their hosts")
    .option(...JSON_OPTION);
  labOptions(lab.commands.at(-1) as Command, "only this lab", undefined).action(
    async (opts: { lab?: string; name?: string; json?: boolean }) => {
      const status = await labStatus(labName(opts));
      if (opts.json) {
        printJson(status);
        return;
      }
      const rows = status.flatMap((s) => [
        ...s.hosts.map((h) => [s.name, s.state, h.name, h.netns, h.iface, h.address, h.address6 ?? ""]),
        ...(s.uplink ? [[s.name, s.state, "this host", "(root)", s.uplink.hostIface, s.uplink.hostAddress, ""]] : []),
      ]);
      process.stdout.write(`${formatTable(["lab", "state", "host", "netns", "iface", "address", "address6"], rows)}\n`);
    },
  );

  lab
    .command("exec")
    .description("run a command inside a lab host: qoelab lab exec client -- ip addr")
    .argument("<host>", "client, server, router or LAB:HOST")
    .argument("<command...>", "the command and its arguments");
  labOptions(lab.commands.at(-1) as Command, "lab name when HOST has none", "lab").action(
    async (hostRef: string, command: string[], opts: { lab: string; name?: string }) => {
      const host = await findLabHost(hostRef, labName(opts) ?? "lab");
      const child = host.spawn(command, { stdio: "inherit" });
      const code = await new Promise<number>((resolve) => {
        child.on("error", () => resolve(127));
        child.on("close", (c) => resolve(c ?? 1));
      });
      process.exitCode = code;
    },
  );
}
