import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { QoelabError } from "../errors.ts";

/*
 * Lazy loader of the raw-socket addon (native/tun/rawsock.c, built with the TUN addon by
 * `npm run build:native`). Node has no raw or packet sockets; this small addon opens them (inside a
 * lab host's network namespace: setns on the calling thread only, then back), and sends and reads
 * without blocking. Nothing else loads it.
 */

export interface RawsockAddon {
  /** kind 4/6: raw IP (we write the IP header); kind 0: packet socket on ifname ("" = all). fd or -errno. */
  open(kind: 0 | 4 | 6, ifname: string, netnsPath: string | null): number;
  sendIp(fd: number, bytes: Uint8Array, dst: string): number;
  sendFrame(fd: number, bytes: Uint8Array): number;
  /** [length, outgoing 0/1, seconds, microseconds, ARPHRD type] or -errno (-11: nothing waiting). */
  recv(fd: number, buffer: Uint8Array): number | [number, number, number, number, number];
  close(fd: number): number;
  strerror(errno: number): string;
}

const ADDON_PATH = fileURLToPath(new URL("../../native/tun/build/Release/qoelab_rawsock.node", import.meta.url));
let addon: RawsockAddon | undefined;

export function rawsockAvailable(): boolean {
  return existsSync(ADDON_PATH);
}

export function rawsockAddon(): RawsockAddon {
  if (addon) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new QoelabError(
      "NET_ADDON_MISSING",
      `raw sockets: the native addon is not built (${ADDON_PATH}); run "npm run build:native" (needs python3, make, g++)`,
      { path: ADDON_PATH },
    );
  }
  addon = createRequire(import.meta.url)(ADDON_PATH) as RawsockAddon;
  return addon;
}
