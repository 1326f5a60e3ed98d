import type { Lab } from "./lab.ts";
import { run } from "./run.ts";

/**
 * Kills (SIGKILL) every process still running in a lab's hosts — a crashed session's browser,
 * origin or capture — so that the slot starts clean. Returns the pids it killed.
 */
export async function killLabProcesses(lab: Lab): Promise<number[]> {
  const killed: number[] = [];
  for (const host of Object.values(lab.hosts)) {
    if (!host) continue;
    const listed = await run(["ip", "netns", "pids", host.netns]);
    for (const pid of listed.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), "SIGKILL");
        killed.push(Number(pid));
      } catch {
        // already gone
      }
    }
  }
  return killed;
}
