import type { Command } from "commander";

/** Every command group registers itself on the root program. One file per group. */
export const commandModules: ReadonlyArray<() => Promise<{ register: (program: Command) => void }>> = [
  () => import("./serve.ts"),
];
