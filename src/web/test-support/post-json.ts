import type { Hono } from "hono";

/** POSTs `body` as JSON to the app (in-process, no socket). */
export function postJson(app: Hono, path: string, body: unknown): Promise<Response> {
  return Promise.resolve(
    app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  );
}
