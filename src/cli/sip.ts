import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { ladderSvg, ladderText } from "../render/index.ts";
import { analyzeSipCalls, sipLadder } from "../voip/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { formatTable, printJson } from "./output.ts";

export function register(program: Command): void {
  const sip = program.command("sip").description("SIP signalling analysis");
  sip
    .command("calls")
    .description("SIP calls (dialogs) with state, setup time, duration and SDP media; ladder diagrams")
    .argument("<file>", "pcap or pcapng capture")
    .option("--ladder <format>", "also draw a ladder diagram: text | svg")
    .option("-o, --output <file>", "write the ladder here (required for svg)")
    .option(...JSON_OPTION)
    .action(async (file: string, opts: { ladder?: string; output?: string; json?: boolean }) => {
      if (opts.ladder !== undefined && opts.ladder !== "text" && opts.ladder !== "svg") {
        throw new QoelabError("CLI_BAD_LADDER", `--ladder ${opts.ladder}: expected text or svg`, {
          value: opts.ladder,
        });
      }
      if (opts.ladder === "svg" && !opts.output) {
        throw new QoelabError("CLI_MISSING_OUTPUT", "--ladder svg needs -o FILE.svg");
      }
      const calls = await analyzeSipCalls(file);
      if (calls.length === 0) throw new QoelabError("VOIP_NO_SIP", `${file}: no SIP messages found`, { file });
      if (opts.ladder) {
        const ladder = sipLadder(calls);
        const drawing = opts.ladder === "svg" ? ladderSvg(ladder) : ladderText(ladder);
        if (opts.output) await writeFile(opts.output, drawing);
        else if (!opts.json) process.stdout.write(drawing);
      }
      if (opts.json) {
        printJson(calls);
        return;
      }
      const rows = calls.map((c) => [
        c.callId,
        c.from,
        c.to,
        c.state,
        c.finalStatus || "",
        c.startTime.toFixed(6),
        c.setupTimeMs === null ? "" : c.setupTimeMs.toFixed(3),
        c.durationS === null ? "" : c.durationS.toFixed(3),
        c.media.map((m) => `${m.address}:${m.port} ${m.codecs.join("/")}`).join("; "),
      ]);
      process.stdout.write(
        `${formatTable(["call-id", "from", "to", "state", "status", "start", "setup_ms", "duration_s", "media"], rows)}\n`,
      );
    });
}
