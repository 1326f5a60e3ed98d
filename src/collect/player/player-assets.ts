import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { browserScript } from "../../common/index.ts";

const require = createRequire(import.meta.url);

let hlsCache: string | undefined;

/** hls.js from the pinned npm package (never a CDN: the player works offline and in the lab). */
export function hlsScript(): string {
  hlsCache ??= readFileSync(require.resolve("hls.js/dist/hls.min.js"), "utf8");
  return hlsCache;
}

/** The player page's script (/assets/player.js), from the TypeScript of player.browser.ts. */
export function playerScript(): string {
  return browserScript(new URL("./player.browser.ts", import.meta.url));
}
