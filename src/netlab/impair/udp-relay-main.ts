/**
 * Process entry of the impairment relay (started by `qoelab impair` inside a lab host):
 *   node udp-relay-main.ts '<RelayConfig JSON>' STATS_FILE
 * Prints one JSON line {"ready":true,"port":N} once listening, then keeps STATS_FILE current.
 */
import { renameSync, writeFileSync } from "node:fs";
import { type RelayConfig, UdpRelay } from "./udp-relay.ts";

const [configText, statsFile] = process.argv.slice(2);
if (!configText || !statsFile) {
  process.stderr.write("usage: udp-relay-main.ts CONFIG_JSON STATS_FILE\n");
  process.exit(2);
}
const file: string = statsFile;
const config = JSON.parse(configText) as RelayConfig;
const relay = new UdpRelay(config);

function writeStats(): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ pid: process.pid, config, stats: relay.stats, at: new Date().toISOString() }));
  renameSync(tmp, file);
}

const port = await relay.start();
writeStats();
process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
const timer = setInterval(writeStats, 500);
const shutdown = async () => {
  clearInterval(timer);
  await relay.stop(false);
  writeStats();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.on("SIGHUP", () => undefined);
