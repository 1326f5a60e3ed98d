import type { Command } from "commander";
import { DEFAULT_SHAPERD_SOCKET, startShaperDaemon } from "../netlab/index.ts";

export function register(program: Command): void {
  program
    .command("shaperd")
    .description("root helper: labs, shaping and capture for a web app that does not run as root (closed command set)")
    .option("--socket <path>", "Unix socket", DEFAULT_SHAPERD_SOCKET)
    .option("--capture-dir <dir>", "the only directory captures are written to", "/var/lib/qoelab/captures")
    .action(async (options: { socket: string; captureDir: string }) => {
      const daemon = await startShaperDaemon({
        socketPath: options.socket,
        captureDir: options.captureDir,
        log: (m) => process.stderr.write(`${m}\n`),
      });
      process.stdout.write(`shaperd: listening on ${options.socket}\n`);
      const stop = () => void daemon.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
