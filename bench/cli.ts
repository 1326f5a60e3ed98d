/**
 * Cold start of `qoelab --version` (the compiled CLI through bin/qoelab.js) beside `tshark --version`
 * and `tcpdump --version`, with bare `node -e 0` as the floor and the sources through tsx (the
 * fallback when dist/ is missing). The commands take turns, so a busy machine slows them alike.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface CliStartRow {
  name: string;
  /** Median wall-clock seconds from spawn to exit. */
  wallSeconds: number;
  /** Median user + system CPU seconds of the process (from /usr/bin/time), or NaN without it. */
  cpuSeconds: number;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

function timeOnce(argv: readonly string[]): { wall: number; cpu: number } {
  const timed = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-f", "@cpu %U %S", ...argv] : [...argv];
  const start = process.hrtime.bigint();
  const r = spawnSync(timed[0] as string, timed.slice(1), { cwd: root, encoding: "utf8", stdio: "pipe" });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited with ${r.status}: ${r.stderr.slice(-300)}`);
  const m = /@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}

export function benchCliStart(runs = Number(process.env.QOELAB_BENCH_CLI_RUNS ?? 15)): CliStartRow[] {
  if (!existsSync(`${root}dist/cli/main.js`))
    throw new Error("dist/ is missing: run `npm run build` (or scripts/setup.sh) first");
  const commands: Array<[string, string[]]> = [
    ["qoelab --version (dist)", [process.execPath, "bin/qoelab.js", "--version"]],
    ["tshark --version", ["tshark", "--version"]],
    ["tcpdump --version", ["tcpdump", "--version"]],
    ["node -e 0 (floor)", [process.execPath, "-e", "0"]],
    ["qoelab --version (sources, tsx)", [process.execPath, "--import", "tsx", "src/cli/main.ts", "--version"]],
  ];
  const samples = commands.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (const [, argv] of commands) timeOnce(argv); // warm the page cache: "cold" means a new process
  for (let i = 0; i < runs; i++) {
    commands.forEach(([, argv], k) => {
      const t = timeOnce(argv);
      samples[k]?.wall.push(t.wall);
      samples[k]?.cpu.push(t.cpu);
    });
  }
  return commands.map(([name], k) => ({
    name,
    wallSeconds: median(samples[k]?.wall ?? []),
    cpuSeconds: median(samples[k]?.cpu ?? []),
  }));
}

export function printCliStart(rows: readonly CliStartRow[]): void {
  const ours = rows[0];
  console.log("cli: cold start, median of each command run in turn (wall from spawn to exit; CPU user+sys)");
  for (const r of rows) {
    const ratio = ours && r !== ours ? `  qoelab ×${(r.wallSeconds / ours.wallSeconds).toFixed(2)}` : "";
    console.log(
      `  ${r.name.padEnd(34)} ${r.wallSeconds.toFixed(3).padStart(6)} s wall  ${r.cpuSeconds.toFixed(2).padStart(5)} s CPU${ratio}`,
    );
  }
}
