import { execFileSync } from "node:child_process";
import type { Command } from "commander";
import { collectionShaperdServices } from "../collect/index.ts";
import { QoelabError } from "../errors.ts";
import { DEFAULT_SHAPERD_SOCKET, type ShaperdUser, startShaperDaemon } from "../netlab/index.ts";
import { onceOnStopSignals } from "./stop-signals.ts";

/**
 * The user the daemon serves: `--user NAME|UID` (looked up in the passwd database), else the user
 * who ran `sudo qoelab shaperd` (SUDO_UID/SUDO_GID).
 */
export function shaperdUser(spec: string | undefined, env: NodeJS.ProcessEnv = process.env): ShaperdUser {
  if (spec === undefined) {
    const uid = Number(env.SUDO_UID);
    const gid = Number(env.SUDO_GID);
    if (env.SUDO_UID && Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    throw new QoelabError(
      "SHAPERD_NO_USER",
      "shaperd: say which user it serves (--user NAME or UID), or start it with sudo from that user's shell",
    );
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(spec))
    throw new QoelabError("SHAPERD_BAD_USER", `shaperd: --user must be a user name or uid, got "${spec}"`);
  let entry: string;
  try {
    entry = execFileSync("getent", ["passwd", spec], { encoding: "utf8" });
  } catch {
    throw new QoelabError("SHAPERD_BAD_USER", `shaperd: no user "${spec}" in the passwd database`);
  }
  const [, , uid, gid] = entry.trim().split("\n")[0]?.split(":") ?? [];
  return { uid: Number(uid), gid: Number(gid) };
}

export function register(program: Command): void {
  program
    .command("shaperd")
    .description("root helper: labs, shaping, capture, origin and player for a web app that does not run as root")
    .option("--socket <path>", "Unix socket (owned by the served user, mode 0600)", DEFAULT_SHAPERD_SOCKET)
    .option("--user <name|uid>", "the one user served: may connect, owns the captures (default: sudo's caller)")
    .option(
      "--capture-dir <dir>",
      "the only directory captures are written to (root's alone, up to /)",
      "/var/lib/qoelab/captures",
    )
    .option(
      "--no-forward",
      "refuse lab uplinks that forward to the outside (Twitch and URL sources): ip_forward and the host's firewall stay as they are",
    )
    .action(async (options: { socket: string; captureDir: string; user?: string; forward: boolean }) => {
      if (process.getuid?.() !== 0)
        throw new QoelabError("SHAPERD_NEEDS_ROOT", "shaperd: run it as root (sudo qoelab shaperd)");
      const user = shaperdUser(options.user);
      const daemon = await startShaperDaemon({
        socketPath: options.socket,
        captureDir: options.captureDir,
        user,
        services: collectionShaperdServices,
        log: (m) => process.stderr.write(`${m}\n`),
        noForward: !options.forward,
      });
      process.stdout.write(
        `shaperd: listening on ${options.socket} for uid ${user.uid}, captures in ${daemon.captureDir}\n`,
      );
      const stop = () => void daemon.close().then(() => process.exit(0));
      onceOnStopSignals(stop);
    });
}
