import { type Command, Option } from "commander";

/**
 * `--lab NAME` of the commands that act on a lab (lab, impair); `--name` is the lab commands' older
 * spelling, still accepted but not shown.
 */
export function labOptions(cmd: Command, description: string, fallback: string | undefined): Command {
  cmd.option("--lab <name>", description, fallback);
  cmd.addOption(new Option("--name <name>", "same as --lab").hideHelp());
  return cmd;
}

/** The lab `labOptions` named: --name when given, else --lab. */
export function labName(opts: { lab: string; name?: string }): string;
export function labName(opts: { lab?: string; name?: string }): string | undefined;
export function labName(opts: { lab?: string; name?: string }): string | undefined {
  return opts.name ?? opts.lab;
}
