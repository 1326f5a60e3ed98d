import type { ShaperdServices } from "../../netlab/index.ts";
import { startOriginProcess } from "../origin/origin-process.ts";
import { forwardingHandle, launchPlayerBrowser } from "../player/player-browser.ts";

/**
 * What `qoelab shaperd` starts for the collection of an unprivileged web app: the origin server in
 * the server host and chromium in the client host, both as the daemon's user, the player page's
 * requests forwarded to the web app on loopback.
 */
export const collectionShaperdServices: ShaperdServices = {
  async startOrigin({ netns, root, port, runAs }) {
    const origin = await startOriginProcess({ netns, root, port, runAs });
    return origin;
  },
  async launchPlayer({ netns, forwardTo, runAs }) {
    const browser = await launchPlayerBrowser({ netns, handle: forwardingHandle(forwardTo), runAs });
    let closed = false;
    return {
      pid: browser.pid,
      alive: () => !closed,
      run: (path, timeoutMs) => browser.run(path, timeoutMs),
      stop: () => {
        closed = true;
        return browser.close();
      },
    };
  },
};
