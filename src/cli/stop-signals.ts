/**
 * Calls `stop` on the first SIGINT (Ctrl-C) and on the first SIGTERM (kill, a service manager): how
 * a command that runs until told ends.
 */
export function onceOnStopSignals(stop: () => void): void {
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
