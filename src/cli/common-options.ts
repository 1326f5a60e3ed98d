/**
 * Options several commands share, defined once so their flags, help and defaults stay the same
 * everywhere (commander: `.option(...JSON_OPTION)`).
 */

/** Machine-readable output instead of the table or text a command prints. */
export const JSON_OPTION = ["--json", "print JSON"] as const;

/** Where the embedded database lives when no server is named. */
export const DATA_DIR_OPTION = [
  "--data-dir <dir>",
  "PGlite data directory when DATABASE_URL is unset",
  "./qoelab-data",
] as const;

/** A loss model, the generators' and impair's (generator/loss-models.ts parses it). */
export const LOSS_MODEL_OPTION = [
  "--loss-model <model>",
  "bernoulli | gilbert:p,r[,1-k,1-h] | state:p13[,p31,p32,p23,p14]",
] as const;

/** Loss a generator applies itself, before sending. */
export const GENERATOR_LOSS_OPTION = [
  "--loss <p>",
  "generator-side loss (1% or 0.01): packets skipped, sequence numbers kept",
] as const;

/** The scheduler's busy-wait before each send deadline. */
export const SPIN_OPTION = ["--spin <ms>", "busy-wait this long before each deadline", "1.5"] as const;

/** The lab a bare host name (client, server, router) belongs to. */
export const LAB_NAME_OPTION = ["--lab <name>", "lab name when --host has none", "lab"] as const;

/** Where a generator sends (`resolveDestination`); `labExample` shows a lab host with the usual port. */
export function destinationOption(labExample: string) {
  return ["--to <host:port>", `destination: address:port, [v6]:port, or a lab host (${labExample})`] as const;
}

/**
 * What the senders (gen udp, gen rtp, replay) get from the options they share: `destinationOption`,
 * `GENERATOR_LOSS_OPTION` (replay's own --loss), `LOSS_MODEL_OPTION`, their --seed,
 * `LAB_HOST_OPTION` and `JSON_OPTION`.
 */
export interface SenderOptionValues {
  to: string;
  loss?: string;
  lossModel?: string;
  seed?: string;
  host?: string;
  json?: boolean;
}

/** Re-running the command inside a lab host (`delegatedToLabHost`). */
export const LAB_HOST_OPTION = ["--host <lab:host>", "run inside a lab host"] as const;

/** Where the labs of Twitch/URL sources may connect through their uplink. */
export const UPLINK_ALLOW_OPTION = [
  "--uplink-allow <list>",
  "IPv4 prefixes the labs of Twitch/URL sources may reach (default any)",
] as const;

/** The address an HTTP server of ours binds (loopback unless asked). */
export const BIND_HOST_OPTION = ["--host <host>", "address to bind", "127.0.0.1"] as const;

/** The port an HTTP server of ours listens on; each server has its own default. */
export function listenPortOption(defaultPort: string) {
  return ["--port <port>", "port", defaultPort] as const;
}
