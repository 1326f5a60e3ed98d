import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { browserScript } from "../../common/index.ts";

const require = createRequire(import.meta.url);

/** The player page: plain HTML, hls.js and the player script, all served by qoelab itself. */
export function playerPageHtml(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>qoelab player</title>
<style>body{margin:0;background:#111;color:#ddd;font:14px system-ui,sans-serif}video{width:100%;max-height:90vh;background:#000}#status{padding:.4rem .8rem}</style>
</head><body><video id="video" playsinline muted></video><div id="status">loading…</div>
<script src="/assets/hls.min.js"></script><script src="/assets/player.js"></script></body></html>`;
}

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
