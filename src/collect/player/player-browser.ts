import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM_ARGS, chromiumPath } from "../../chromium.ts";
import { QoelabError } from "../../errors.ts";

/** The virtual origin the player page is served from, inside the browser only (page.route). */
export const PLAYER_ORIGIN = "http://qoelab.invalid";

export interface PlayerBrowser {
  /** Resolves when the player finished (window.qoelabDone) or rejects with its error. */
  run(path: string, timeoutMs: number): Promise<void>;
  /** Chromium's process id (for fault tests and monitoring). */
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium (through playwright-core, never a downloaded browser) inside a lab
 * host's network namespace. The player page, hls.js and the API calls are answered by `handle`
 * (page.route: in-process, or `forwardingHandle` to a web app on loopback), so only the video
 * traffic crosses the shaped link.
 */
export async function launchPlayerBrowser(options: {
  netns?: string;
  handle: (request: Request) => Promise<Response>;
  /** Run chromium as this user (root starting it for an unprivileged web app); default: as we are. */
  runAs?: { uid: number; gid: number };
}): Promise<PlayerBrowser> {
  const { chromium } = await import("playwright-core");
  const work = mkdtempSync(join(tmpdir(), "qoelab-chromium-"));
  const profile = join(work, "profile");
  let executablePath = chromiumPath();
  if (options.netns || options.runAs) {
    // playwright talks to chromium over inherited pipes, which `ip netns exec` and setpriv keep open.
    const netns = options.netns ? `ip netns exec '${options.netns}' ` : "";
    let user = "";
    if (options.runAs) {
      const { uid, gid } = options.runAs;
      // The wrapper stays root's (the work directory is only traversable); the profile is the user's.
      chmodSync(work, 0o711);
      mkdirSync(profile);
      chownSync(profile, uid, gid);
      user = `setpriv --reuid=${uid} --regid=${gid} --clear-groups env HOME='${profile}' `;
    }
    const wrapper = join(work, "chromium-in-netns.sh");
    writeFileSync(wrapper, `#!/bin/sh\nexec ${netns}${user}'${executablePath}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    executablePath = wrapper;
  }
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>>;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw new QoelabError("BROWSER_LAUNCH_FAILED", `chromium failed to start: ${(error as Error).message}`);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  await page.route(`${PLAYER_ORIGIN}/**`, async (route) => {
    const request = route.request();
    try {
      const body = request.postDataBuffer();
      const response = await options.handle(
        new Request(request.url(), {
          method: request.method(),
          headers: request.headers(),
          ...(body && request.method() !== "GET" ? { body: new Uint8Array(body) } : {}),
        }),
      );
      await route.fulfill({
        status: response.status,
        headers: headersObject(response.headers),
        body: Buffer.from(await response.arrayBuffer()),
      });
    } catch (error) {
      await route.fulfill({
        status: 500,
        contentType: "application/json",
        body: JSON.stringify({ code: "PLAYER_ROUTE_FAILED", message: String(error) }),
      });
    }
  });
  // A persistent context has no Browser object with a process; find chromium's pid by its profile.
  const browserProcess = { pid: findChromiumPid(profile) };
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => context.once("close", () => resolve()));
  return {
    pid: browserProcess?.pid,
    async run(path, timeoutMs) {
      await page.goto(`${PLAYER_ORIGIN}${path}`);
      const outcome = await Promise.race([
        page
          .waitForFunction(
            () =>
              (window as unknown as { qoelabDone?: boolean; qoelabError?: string }).qoelabDone === true ||
              typeof (window as unknown as { qoelabError?: string }).qoelabError === "string",
            undefined,
            { timeout: timeoutMs, polling: 250 },
          )
          .then(() => page.evaluate(() => (window as unknown as { qoelabError?: string }).qoelabError ?? null)),
        closedPromise.then(() => "the browser closed or crashed"),
      ]).catch((error: Error) => `player did not finish: ${error.message.split("\n")[0]}`);
      if (outcome) throw new QoelabError("PLAYER_FAILED", `player: ${outcome}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      // A killed chromium's helpers may still be writing its cache: retry, and never fail the session on it.
      try {
        rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch {
        // a leftover temp directory is not worth failing over
      }
    },
  };
}

/** Headers that belong to one hop (fetch sets its own), not to the forwarded request or response. */
const HOP_HEADERS = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "keep-alive",
  "content-encoding",
]);

/**
 * A `handle` that forwards the player's page, asset and API requests to a web app listening at
 * `baseUrl` (e.g. http://127.0.0.1:8000): the path and query are kept, the origin replaced.
 */
export function forwardingHandle(baseUrl: string): (request: Request) => Promise<Response> {
  return async (request) => {
    const incoming = new URL(request.url);
    const headers = new Headers();
    request.headers.forEach((value, key) => {
      if (!HOP_HEADERS.has(key)) headers.set(key, value);
    });
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    // Concatenated, never resolved: a path like "//elsewhere/x" must stay on the web app's origin.
    const response = await fetch(`${new URL(baseUrl).origin}${incoming.pathname}${incoming.search}`, {
      method: request.method,
      headers,
      redirect: "manual",
      ...(hasBody ? { body: await request.arrayBuffer() } : {}),
    });
    const out = new Headers();
    response.headers.forEach((value, key) => {
      if (!HOP_HEADERS.has(key)) out.set(key, value);
    });
    // fetch already decoded the body, so its encoding header no longer applies.
    const noBody = [101, 204, 205, 304].includes(response.status);
    return new Response(noBody ? null : await response.arrayBuffer(), { status: response.status, headers: out });
  };
}

function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

function findChromiumPid(profileDir: string): number | undefined {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(`--user-data-dir=${profileDir}`) && !cmdline.includes("--type=")) return Number(entry);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export { CHROMIUM_ARGS, chromiumPath } from "../../chromium.ts";
