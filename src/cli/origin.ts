import type { Command } from "commander";
import { buildLocalOrigin, CHANNELS, listenOrigin } from "../collect/index.ts";
import { QoelabError } from "../errors.ts";
import { printJson } from "./output.ts";

export function register(program: Command): void {
  const origin = program.command("origin").description("the built-in local HLS origin (synthetic channels)");
  origin
    .command("build")
    .description("make the HLS ladder (240p…1080p, 2 s segments) once, with ffmpeg")
    .option("--channels <list>", `comma-separated: ${Object.keys(CHANNELS).join(", ")}`, "testcard,life,gradients")
    .option("--duration <s>", "seconds of content per channel (the player loops)", "60")
    .option("--json", "print JSON")
    .action(async (options: { channels: string; duration: string; json?: boolean }) => {
      const duration = Number(options.duration);
      if (!Number.isInteger(duration) || duration < 4 || duration > 3600)
        throw new QoelabError(
          "CLI_BAD_DURATION",
          `origin build: --duration must be 4–3600 s, got "${options.duration}"`,
        );
      const built = await buildLocalOrigin({
        channels: options.channels.split(",").map((c) => c.trim()),
        durationSeconds: duration,
        onProgress: (m) => process.stderr.write(`${m}\n`),
      });
      if (options.json) printJson(built);
      else
        process.stdout.write(`${built.root}\n${built.channels.map((c) => `  ${c.master} (${c.motion})`).join("\n")}\n`);
    });
  origin
    .command("serve")
    .description("serve an origin directory over HTTP with CORS")
    .requiredOption("--root <dir>", "directory to serve")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <port>", "port", "8080")
    .action(async (options: { root: string; host: string; port: string }) => {
      const server = await listenOrigin(options.root, options.host, Number(options.port));
      process.stdout.write(`origin: serving ${options.root} on ${options.host}:${options.port}\n`);
      const stop = () => server.close(() => process.exit(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
}
