import type { Command } from "commander";

/** A command group: one file `src/cli/<group>.ts` exporting `register(program)`. */
export interface CommandGroup {
  /**
   * The top-level commands the file registers, each with the description its `register` gives it
   * (what `qoelab --help` lists without loading the file; `commands.test.ts` keeps them equal).
   */
  readonly commands: Readonly<Record<string, string>>;
  /** Loads the file; only done when one of its commands is invoked (or asked for help). */
  readonly load: () => Promise<{ register: (program: Command) => void }>;
  /**
   * Its commands stream packets through a loop that allocates nothing per packet: the process
   * keeps V8's young generation at its initial size (main.ts), which start-up would otherwise grow
   * to 16 MB and keep (about 11 MB of RSS on `qoelab flows`).
   */
  readonly smallYoungGeneration?: boolean;
}

/**
 * Every command group, loaded lazily: `qoelab X …` imports only the file that registers X, so a
 * command starts without loading the others' dependencies (PGlite, Playwright, the web app…).
 */
export const commandGroups: readonly CommandGroup[] = [
  { commands: { lab: "lab hosts: network namespaces joined by veth links" }, load: () => import("./lab.ts") },
  {
    commands: { serve: "run the web app (trainings, sessions, export) and the collection worker" },
    load: () => import("./serve.ts"),
  },
  {
    commands: {
      collect: "run a training's sessions now, without the web app (lab hosts, shaping, chromium, capture)",
      export: "export a training as one row per session (CSV, JSON or Parquet)",
    },
    load: () => import("./collect.ts"),
  },
  {
    commands: {
      db: "SQL on qoelab's database: psql or a prompt, one-off queries (web_training, web_session…)",
    },
    load: () => import("./db.ts"),
  },
  {
    commands: { origin: "the built-in local HLS origin (synthetic contents)" },
    load: () => import("./origin.ts"),
  },
  {
    commands: { traces: "bandwidth traces for trace-driven sessions (Mahimahi format)" },
    load: () => import("./traces.ts"),
  },
  {
    commands: {
      shaperd: "root helper: labs, shaping, capture, origin and player for a web app that does not run as root",
    },
    load: () => import("./shaperd.ts"),
  },
  {
    commands: {
      gen: "traffic generators with deadline scheduling",
      recv: "receivers matching the generators",
      replay: "re-send a capture's RTP (or UDP) payloads with their original timing",
    },
    load: () => import("./gen.ts"),
  },
  {
    commands: { capture: "capture packets with tcpdump (immediate mode; stopping writes every captured packet)" },
    load: () => import("./capture.ts"),
  },
  { commands: { rtp: "RTP stream analysis and audio extraction" }, load: () => import("./rtp.ts") },
  { commands: { sip: "SIP signalling analysis" }, load: () => import("./sip.ts") },
  {
    commands: { emodel: "ITU-T G.107 E-model: R and MOS-CQE for a codec, loss, burstiness and one-way delay" },
    load: () => import("./emodel.ts"),
  },
  {
    commands: {
      impair:
        "impair the egress of a lab interface (netem semantics); TARGET is [LAB:]HOST[:SIDE], e.g. router:server-side",
    },
    load: () => import("./impair.ts"),
  },
  {
    commands: { pcap: "read, write, convert and inspect pcap/pcapng capture files" },
    load: () => import("./pcap.ts"),
  },
  {
    commands: {
      pesq: "PESQ speech quality of a degraded file against its reference: P.862 raw + P.862.1 MOS-LQO (nb) or P.862.2 MOS-LQO (wb)",
    },
    load: () => import("./pesq.ts"),
  },
  {
    commands: {
      flows: "per-flow TCP/UDP statistics (tstat log_tcp_complete semantics), time series and QoE features",
    },
    load: () => import("./flows.ts"),
    smallYoungGeneration: true,
  },
  {
    commands: { ml: "QoE models from network features: train, evaluate, predict, report" },
    load: () => import("./ml.ts"),
  },
  { commands: { qoe: "QoE from network traffic" }, load: () => import("./qoe.ts") },
  {
    commands: { listen: "listening tests in the browser (ITU-T P.800 ACR/DCR, P.808 screening)" },
    load: () => import("./listen.ts"),
  },
  {
    commands: { report: "turn an experiment folder into one self-contained HTML report with SVG/PNG figures" },
    load: () => import("./report.ts"),
  },
  {
    commands: { experiment: "lab experiments that write an experiment folder" },
    load: () => import("./experiment.ts"),
  },
  {
    commands: {
      send: "send a crafted packet (Scapy's send/sr/sr1): layer 3 through a raw IP socket, or layer 2 when LAYERS starts with ether",
    },
    load: () => import("./send.ts"),
  },
  {
    commands: {
      shell:
        "an interactive TypeScript-syntax shell with the packet builder, send/sr/sr1/sniff and rdpcap/wrpcap in scope",
    },
    load: () => import("./shell.ts"),
  },
];

/** The group that registers top-level command `name`, if any. */
export function groupOf(name: string): CommandGroup | undefined {
  return commandGroups.find((group) => Object.hasOwn(group.commands, name));
}
