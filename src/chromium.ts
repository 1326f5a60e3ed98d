import { existsSync } from "node:fs";
import { QoelabError } from "./errors.ts";

/*
 * Debian's chromium, driven by playwright-core (never a downloaded browser). A leaf module like
 * errors.ts: the collection player, the listening tests and the page tests all start it the same way.
 */

/** Flags for Debian's chromium as root in a lab host (see the collection issue's feasibility notes). */
export const CHROMIUM_ARGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--mute-audio",
  "--autoplay-policy=no-user-gesture-required",
  "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights",
];

export function chromiumPath(): string {
  const path = process.env.QOELAB_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(path)) {
    throw new QoelabError(
      "TOOL_MISSING_CHROMIUM",
      `chromium not found at ${path} (Debian package "chromium"; run scripts/setup.sh, or set QOELAB_CHROMIUM)`,
    );
  }
  return path;
}
