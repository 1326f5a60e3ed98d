#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { isQoelabError } from "../errors.ts";
import { commandModules } from "./commands.ts";

/** Builds the root `qoelab` program with every command group registered. */
export async function buildProgram(): Promise<Command> {
  const program = new Command("qoelab")
    .description("Network Quality-of-Experience lab: packets, flows, VoIP and video QoE")
    .version("0.1.0")
    .showHelpAfterError();
  for (const load of commandModules) (await load()).register(program);
  return program;
}

/** Runs the CLI; a QoelabError prints `code: message` and exits 1. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = await buildProgram();
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
if (invokedDirectly) await main();
