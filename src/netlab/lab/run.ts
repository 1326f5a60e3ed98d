import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { QoelabError } from "../../errors.ts";

/** Debian package that provides each external tool we call, for "missing tool" messages. */
const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ip: "iproute2",
  tc: "iproute2",
  ethtool: "ethtool",
  iptables: "iptables",
  ip6tables: "iptables",
  nft: "nftables",
  sysctl: "procps",
  tcpdump: "tcpdump",
  tshark: "tshark",
};

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Run inside this network namespace (through `ip netns exec`). */
  netns?: string;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process after this long (ms); the result then has code 124. */
  timeoutMs?: number;
}

/** argv wrapped so it runs in `netns` (unchanged when no namespace is given). */
export function inNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns ? ["ip", "netns", "exec", netns, ...argv] : [...argv];
}

export function missingToolError(tool: string, cause?: unknown): QoelabError {
  const pkg = TOOL_PACKAGES[tool];
  const hint = pkg ? ` (Debian/Ubuntu package "${pkg}": apt-get install ${pkg})` : "";
  return new QoelabError("NETLAB_TOOL_MISSING", `${tool}: not found on PATH${hint}`, { tool, package: pkg }, { cause });
}

/** Starts argv (no shell) and maps a missing executable to a coded error on the `error` event. */
export function spawnTool(argv: readonly string[], options: SpawnOptions & { netns?: string } = {}): ChildProcess {
  const full = inNetns(options.netns, argv);
  const [cmd, ...args] = full;
  if (!cmd) throw new QoelabError("NETLAB_BAD_ARGV", "empty command");
  const { netns: _netns, ...spawnOptions } = options;
  return spawn(cmd, args, spawnOptions);
}

/** Runs argv (no shell) to completion; never throws for a non-zero exit, only for a missing tool. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const full = inNetns(options.netns, argv);
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = full;
    if (!cmd) {
      reject(new QoelabError("NETLAB_BAD_ARGV", "empty command"));
      return;
    }
    const child = spawn(cmd, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, options.timeoutMs);
    }
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (error.code === "ENOENT") reject(missingToolError(cmd, error));
      else reject(new QoelabError("NETLAB_EXEC_FAILED", `${full.join(" ")}: ${error.message}`, {}, { cause: error }));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8");
      // `ip netns exec` reports a missing inner tool this way.
      const inner = full[0] === "ip" && full[1] === "netns" ? full[4] : undefined;
      if (inner && code !== 0 && /exec of ".*" failed: No such file or directory/.test(stderr)) {
        reject(missingToolError(inner));
        return;
      }
      resolve({
        stdout: Buffer.concat(out).toString("utf8"),
        stderr,
        code: timedOut ? 124 : (code ?? (signal ? 128 : 1)),
      });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Runs argv and throws a coded error (with the tool's stderr) when it exits non-zero. */
export async function runOk(argv: readonly string[], options: RunOptions & { code?: string } = {}): Promise<string> {
  const result = await run(argv, options);
  if (result.code !== 0) {
    const where = options.netns ? ` (in ${options.netns})` : "";
    throw new QoelabError(
      options.code ?? "NETLAB_COMMAND_FAILED",
      `${argv.join(" ")}${where} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
      { argv: [...argv], netns: options.netns, exitCode: result.code, stderr: result.stderr },
    );
  }
  return result.stdout;
}

/** argv that runs a TypeScript/JavaScript module of qoelab in a fresh Node process (tsx when from source). */
export function nodeModuleCommand(moduleUrl: URL, args: readonly string[]): string[] {
  const fromSource = moduleUrl.pathname.endsWith(".ts");
  const loader = fromSource ? ["--import", import.meta.resolve("tsx")] : [];
  return [process.execPath, ...loader, fileURLToPath(moduleUrl), ...args];
}

/**
 * argv that runs the qoelab CLI with `args` in a fresh Node process (through tsx when running from
 * source), e.g. to start `gen udp` inside a lab host: `host.spawn(qoelabCommand(["gen", "udp", …]))`.
 */
export function qoelabCommand(args: readonly string[]): string[] {
  const fromSource = import.meta.url.endsWith(".ts");
  return nodeModuleCommand(new URL(fromSource ? "../../cli/main.ts" : "../../cli/main.js", import.meta.url), args);
}
