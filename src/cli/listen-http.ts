import { serve } from "@hono/node-server";
import { QoelabError } from "../errors.ts";

export type HttpServer = ReturnType<typeof serve>;

/**
 * Serves a fetch handler (a Hono app) on host:port; resolves once it listens, rejects with
 * PORT_IN_USE or SERVE_FAILED naming `who` (the command) and the address.
 */
export function listenHttp(
  app: { fetch: Parameters<typeof serve>[0]["fetch"] },
  host: string,
  port: number,
  who: string,
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
    s.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new QoelabError(
          error.code === "EADDRINUSE" ? "PORT_IN_USE" : "SERVE_FAILED",
          `${who}: cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
  });
}
