import type { Command } from "commander";

/** Every command group registers itself on the root program. One file per group. */
export const commandModules: ReadonlyArray<() => Promise<{ register: (program: Command) => void }>> = [
  () => import("./lab.ts"),
  () => import("./serve.ts"),
  () => import("./collect.ts"),
  () => import("./origin.ts"),
  () => import("./shaperd.ts"),
  () => import("./gen.ts"),
  () => import("./capture.ts"),
  () => import("./rtp.ts"),
  () => import("./sip.ts"),
  () => import("./emodel.ts"),
  () => import("./impair.ts"),
  () => import("./pcap.ts"),
  () => import("./pesq.ts"),
  () => import("./flows.ts"),
  () => import("./ml.ts"),
  () => import("./qoe.ts"),
  () => import("./listen.ts"),
  () => import("./report.ts"),
  () => import("./experiment.ts"),
];
