import type { Command } from "commander";
import {
  buildLocalOrigin,
  CONTENTS,
  DEFAULT_CONTENTS,
  DEFAULT_ORIGIN_SECONDS,
  listenOrigin,
  originBuildStatus,
} from "../collect/index.ts";
import { QoelabError } from "../errors.ts";
import { BIND_HOST_OPTION, JSON_OPTION, listenPortOption } from "./common-options.ts";
import { parsePort, splitList } from "./option-parsers.ts";
import { formatTable, printJson } from "./output.ts";
import { onceOnStopSignals } from "./stop-signals.ts";

export function register(program: Command): void {
  const origin = program.command("origin").description("the built-in local HLS origin (synthetic contents)");
  origin
    .command("build")
    .description(
      "make the HLS ladder (160p…1080p capped VBR, 2 s segments) once, with ffmpeg; prints each rendition's mean and peak bitrate",
    )
    .option(
      "--channels <list>",
      `contents, comma-separated: ${Object.keys(CONTENTS).join(", ")}`,
      DEFAULT_CONTENTS.join(","),
    )
    .option("--duration <s>", "seconds of each content (the player loops)", String(DEFAULT_ORIGIN_SECONDS))
    .option(...JSON_OPTION)
    .action(async (options: { channels: string; duration: string; json?: boolean }) => {
      const duration = Number(options.duration);
      if (!Number.isInteger(duration) || duration < 4 || duration > 3600)
        throw new QoelabError(
          "CLI_BAD_DURATION",
          `origin build: --duration must be 4–3600 s, got "${options.duration}"`,
        );
      // The build's progress every 5 s (ffmpeg's own position in the content being encoded).
      const ticker = setInterval(() => {
        const status = originBuildStatus();
        if (status.state === "building") process.stderr.write(`${status.message}\n`);
      }, 5000);
      let built: Awaited<ReturnType<typeof buildLocalOrigin>>;
      try {
        built = await buildLocalOrigin({
          channels: splitList(options.channels),
          durationSeconds: duration,
          onProgress: (m) => process.stderr.write(`${m}\n`),
        });
      } finally {
        clearInterval(ticker);
      }
      if (options.json) printJson(built);
      else {
        const rows = built.channels.flatMap((c) =>
          c.renditions.map((r) => [c.name, r.name, r.capKbps, r.meanKbps, r.peakKbps, r.segments]),
        );
        process.stdout.write(
          `${built.root}\n${built.channels.map((c) => `  ${c.master} (${c.motion})`).join("\n")}\n\n${formatTable(
            ["content", "rendition", "cap_kbps", "mean_kbps", "peak_kbps", "segments"],
            rows,
          )}\n`,
        );
      }
    });
  origin
    .command("serve")
    .description("serve an origin directory over HTTP with CORS")
    .requiredOption("--root <dir>", "directory to serve")
    .option(...BIND_HOST_OPTION)
    .option(...listenPortOption("8080"))
    .action(async (options: { root: string; host: string; port: string }) => {
      const server = await listenOrigin(options.root, options.host, parsePort(options.port, "--port", "origin serve"));
      process.stdout.write(`origin: serving ${options.root} on ${options.host}:${options.port}\n`);
      const stop = () => server.close(() => process.exit(0));
      onceOnStopSignals(stop);
    });
}
