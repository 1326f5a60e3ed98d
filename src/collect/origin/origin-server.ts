import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { QoelabError } from "../../errors.ts";

const CONTENT_TYPES: Record<string, string> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
  ".m4s": "video/iso.segment",
  ".mp4": "video/mp4",
  ".json": "application/json",
  ".html": "text/html; charset=utf-8",
};

/**
 * The HLS origin of the local video source: a plain static file server with CORS (the player page
 * comes from qoelab's own origin) and no caching headers that would hide segment fetches.
 */
export function createOriginServer(rootDir: string): Server {
  const root = resolve(rootDir);
  return createServer((request, response) => {
    response.setHeader("access-control-allow-origin", "*");
    response.setHeader("cache-control", "no-store");
    if (request.method === "OPTIONS") {
      response.setHeader("access-control-allow-headers", "*");
      response.writeHead(204).end();
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405).end();
      return;
    }
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://origin").pathname);
    const file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) {
      response.writeHead(403).end();
      return;
    }
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error("not a file");
      size = stat.size;
    } catch {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    response.writeHead(200, {
      "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
      "content-length": size,
    });
    if (request.method === "HEAD") response.end();
    else createReadStream(file).pipe(response);
  });
}

export function listenOrigin(rootDir: string, host: string, port: number): Promise<Server> {
  const server = createOriginServer(rootDir);
  return new Promise((resolvePromise, reject) => {
    server.once("error", (error) =>
      reject(new QoelabError("ORIGIN_LISTEN_FAILED", `origin: cannot listen on ${host}:${port}: ${error.message}`)),
    );
    server.listen(port, host, () => resolvePromise(server));
  });
}
