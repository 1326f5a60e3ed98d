import type { Command } from "commander";
import {
  detectNetem,
  getLab,
  type ImpairArgs,
  type ImpairTarget,
  impair,
  impairClear,
  impairShow,
  parseImpairSpec,
  resolveTarget,
  splitTargetRef,
  targetOf,
  tunAddonAvailable,
} from "../netlab/index.ts";
import { JSON_OPTION, LOSS_MODEL_OPTION } from "./common-options.ts";
import { labName, labOptions } from "./lab-options.ts";
import { splitList } from "./option-parsers.ts";
import { formatTable, printJson } from "./output.ts";

interface ImpairCliOpts extends ImpairArgs {
  lab: string;
  name?: string;
  backend?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = labOptions(
    program
      .command("impair")
      .description(
        "impair the egress of a lab interface (netem semantics); TARGET is [LAB:]HOST[:SIDE], e.g. router:server-side",
      )
      .argument("[target]", "client, server, router:client-side, router:server-side (optionally LAB:…)"),
    "lab name when TARGET has none",
    "lab",
  )
    .option("--rate <rate>", "rate limit (tc units: 1mbit, 500kbit, 2mbps = bytes/s)")
    .option("--burst <size>", "token bucket burst (tbf), e.g. 32kb")
    .option("--delay <time>", "added delay (40ms; bare number = µs as in tc)")
    .option("--jitter <time>", "delay variation")
    .option("--delay-dist <dist>", "uniform | normal | pareto | paretonormal")
    .option("--loss <p>", "loss probability (1% or 0.01)")
    .option(...LOSS_MODEL_OPTION)
    .option("--reorder <p>", "probability a packet skips the delay (needs --delay)")
    .option("--duplicate <p>", "duplication probability")
    .option("--corrupt <p>", "probability of a flipped bit")
    .option("--limit <packets>", "queue limit in packets")
    .option("--seed <n>", "seed for netem (where supported) and the relay")
    .option(
      "--udp-port <ports>",
      "UDP ports the userspace relay impairs (comma list); needed without netem for delay etc.",
    )
    .option("--up <rate>", "wondershaper-style: limit what the host sends")
    .option("--down <rate>", "wondershaper-style: limit what the host receives (ifb, else policing)")
    .option("--backend <names>", "backends to prefer, comma list (netem, tbf, iptables, relay, emulator)")
    .option(...JSON_OPTION)
    .action(async (targetRef: string | undefined, opts: ImpairCliOpts) => {
      if (!targetRef) {
        cmd.help({ error: true });
        return;
      }
      const spec = parseImpairSpec(opts);
      const target = await resolveTarget(targetRef, labName(opts));
      const result = await impair(target, spec, { prefer: opts.backend === undefined ? [] : splitList(opts.backend) });
      if (opts.json) {
        printJson(result);
        return;
      }
      process.stdout.write(`impair ${result.lab}:${result.target} (${result.iface} egress)\n`);
      process.stdout.write(
        `${formatTable(
          ["option", "value", "backend"],
          result.assignments.map((a) => [a.option, a.value, a.backend]),
        )}\n`,
      );
      if (result.assignments.some((a) => a.backend === "iptables"))
        process.stderr.write(`${iptablesLossHint(targetRef)}\n`);
    });

  cmd
    .command("show")
    .description("impairments in place: option → backend → live state")
    .argument("[target]", "only this target")
    .option(...JSON_OPTION)
    .action(async (targetRef: string | undefined, local: { json?: boolean }, self: Command) => {
      const opts = self.optsWithGlobals() as { lab: string; name?: string; json?: boolean };
      const { lab, target } = await labAndTarget(targetRef, labName(opts));
      const rows = await impairShow(lab, target);
      if (opts.json || local.json) {
        printJson(rows);
        return;
      }
      process.stdout.write(
        `${formatTable(
          ["target", "iface", "option", "value", "backend", "state"],
          rows.map((r) => [
            r.target,
            r.iface,
            r.option,
            r.value,
            r.backend,
            r.status === "applied" ? r.state : `${r.status}: ${r.state}`,
          ]),
        )}\n`,
      );
    });

  cmd
    .command("clear")
    .description("remove impairments (one target, or all of the lab)")
    .argument("[target]", "only this target")
    .action(async (targetRef: string | undefined, _local: unknown, self: Command) => {
      const opts = self.optsWithGlobals() as { lab: string; name?: string };
      const { lab, target } = await labAndTarget(targetRef, labName(opts));
      const { cleared } = await impairClear(lab, target);
      process.stdout.write(cleared.length ? `cleared ${cleared.join(", ")}\n` : "nothing to clear\n");
    });

  cmd
    .command("backends")
    .description("which impairment backends this machine offers (netem detection)")
    .option(...JSON_OPTION)
    .action(async (_local: unknown, self: Command) => {
      const opts = self.optsWithGlobals() as { json?: boolean };
      const netem = await detectNetem();
      const rows = [
        [
          "netem",
          netem.available ? "available" : "absent",
          netem.available ? `seed ${netem.seed ? "supported" : "not supported"}` : netem.reason,
        ],
        ["tbf", "available", "rate, limit"],
        ["iptables", "available", "Bernoulli loss on FORWARD (router) / OUTPUT (host)"],
        ["relay", "available", "UDP on given ports: delay, jitter, loss models, reorder, duplicate, corrupt, limit"],
        ["shaper", "available", "--up/--down: tbf egress, ifb (or police) ingress"],
        [
          "emulator",
          tunAddonAvailable() ? "available" : "not built",
          tunAddonAvailable()
            ? "userspace TUN link emulator: any traffic; delay, jitter, loss models, reorder, duplicate, corrupt, rate, limit"
            : 'run "npm run build:native" (needs python3, make, g++)',
        ],
      ];
      if (opts.json) printJson({ netem });
      else process.stdout.write(`${formatTable(["backend", "state", "notes"], rows)}\n`);
    });
}

/** The lab `impair show` and `impair clear` act on and, when TARGET names one, the target in it. */
async function labAndTarget(
  targetRef: string | undefined,
  defaultLab: string,
): Promise<{ lab: string; target?: ImpairTarget }> {
  if (!targetRef) return { lab: defaultLab };
  const { lab, target } = splitTargetRef(targetRef, defaultLab);
  return { lab, target: targetOf(await getLab(lab), target) };
}

/** iptables' statistic match draws from the kernel's random numbers: name the seeded way to the same loss. */
export function iptablesLossHint(targetRef: string): string {
  return (
    "impair: the loss is iptables' (statistic match), which cannot be seeded: each run drops other packets. " +
    `For reproducible loss: qoelab impair ${targetRef} --backend emulator --seed N --loss … ` +
    "(the link emulator draws its drops from the seed)"
  );
}
