/*
 * The video player's page: plain HTML that loads hls.js and the player script (collect's
 * player.browser.ts, served as /assets/player.js), all served by qoelab itself. The script finds
 * the video and its status line by these ids.
 */

/** The player page: plain HTML, hls.js and the player script, all served by qoelab itself. */
export function playerPageHtml(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>qoelab player</title>
<style>body{margin:0;background:#111;color:#ddd;font:14px system-ui,sans-serif}video{width:100%;max-height:90vh;background:#000}#status{padding:.4rem .8rem}</style>
</head><body><video id="video" playsinline muted></video><div id="status">loading…</div>
<script src="/assets/hls.min.js"></script><script src="/assets/player.js"></script></body></html>`;
}
