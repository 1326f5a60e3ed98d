#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";
import { Command, CommanderError } from "commander";
import { isQoelabError } from "../errors.ts";
import { type CommandGroup, commandGroups, groupOf } from "./commands.ts";

export const VERSION = "0.1.0";

/**
 * Builds the root `qoelab` program. Given the process's `argv`, it loads only the command group that
 * registers the invoked command (`qoelab help X` counts as invoking X); every other group appears as
 * a stub with its name and description, so `qoelab --help` lists them all and `--version` loads
 * nothing. Without `argv`, every group is loaded (tests that walk the whole command tree).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command("qoelab")
    .description("Network Quality-of-Experience lab: packets, flows, VoIP and video QoE")
    .version(VERSION)
    .showHelpAfterError();
  const invoked = argv === undefined ? undefined : invokedGroup(argv.slice(2));
  const loads = (group: CommandGroup) => argv === undefined || group === invoked;
  for (const group of commandGroups) {
    if (loads(group)) (await group.load()).register(program);
    else
      for (const [name, description] of Object.entries(group.commands)) program.command(name).description(description);
  }
  return program;
}

/** The group of the command named by the first operand (or the one after `help`). */
function invokedGroup(args: readonly string[]): CommandGroup | undefined {
  const operands = args.filter((arg) => !arg.startsWith("-"));
  const name = operands[0] === "help" ? operands[1] : operands[0];
  return name === undefined ? undefined : groupOf(name);
}

/** Runs the CLI; a QoelabError prints `code: message` and exits 1. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // Before the group loads: V8 reads the flag whenever the young generation would grow.
  if (invokedGroup(argv.slice(2))?.smallYoungGeneration) setFlagsFromString("--semi-space-growth-factor=1");
  const program = await buildProgram(argv);
  program.exitOverride();
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (isQoelabError(error)) {
      process.stderr.write(`qoelab: ${error.message} [${error.code}]\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && /(?:^|[\\/])(?:main\.[jt]s|qoelab(?:\.js)?)$/.test(process.argv[1]);
if (invokedDirectly) {
  // `qoelab pcap show big.pcap | head`: the reader went away; stop quietly, as tcpdump and tshark do.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(0);
  });
  await main();
}
