import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  capturesArchive,
  createTraining,
  exportTraining,
  getSession,
  getTraining,
  hlsScript,
  listSessions,
  listTrainings,
  playerPageHtml,
  playerScript,
  type SessionController,
  trainingProgress,
  validateTrainingRequest,
} from "../collect/index.ts";
import type { Db } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { registerClassifyRoutes } from "./classify-routes.ts";
import { errorBody, statusForError } from "./http-error.ts";
import { registerListeningRoutes } from "./listening-routes.ts";
import { trainingFormPage } from "./training-form-page.ts";
import { sessionDetailPage, trainingDetailPage, trainingListPage } from "./training-pages.ts";

export interface AppOptions {
  db: Db;
  /** The seed's client protocol (next/start/finish); absent → those endpoints answer 503. */
  controller?: SessionController;
  /** Builds a tar of a training's captures, when the collection side provides one. */
  capturesArchive?: (trainingId: number) => Promise<Uint8Array>;
}

function parseId(value: string | undefined, what: string): number {
  if (!value || !/^\d{1,9}$/.test(value)) {
    throw new QoelabError("BAD_ID", `${what} id must be a positive integer, got "${value ?? ""}"`, {
      fields: { id: "positive integer" },
    });
  }
  return Number(value);
}

function stringValues(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) out[k] = typeof v === "string" ? v : JSON.stringify(v);
  return out;
}

/** The web app: server-rendered pages and the JSON API. No business logic lives here. */
export function createApp(options: AppOptions): Hono {
  const { db } = options;
  const app = new Hono();

  app.onError((error, c) => {
    const status = statusForError(error);
    if (c.req.path.startsWith("/api/")) return c.json(errorBody(error), status);
    return c.html(
      `<!doctype html><title>Error</title><h1>${status}</h1><p>${String(errorBody(error).message).replaceAll("<", "&lt;")}</p><p><a href="/">Back</a></p>`,
      status,
    );
  });
  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? c.json({ code: "ROUTE_NOT_FOUND", message: `no API route ${c.req.method} ${c.req.path}` }, 404)
      : c.html("<!doctype html><title>Not found</title><h1>404</h1><p>No such page.</p>", 404),
  );
  app.use(
    "*",
    bodyLimit({
      maxSize: 16 * 1024 * 1024,
      onError: (c) => c.json({ code: "PAYLOAD_TOO_LARGE", message: "request body larger than 16 MiB" }, 413),
    }),
  );

  // ---- pages
  app.get("/", async (c) => {
    const trainings = await listTrainings(db);
    const rows = await Promise.all(
      trainings.map(async (t) => ({ training: t, progress: await trainingProgress(db, t) })),
    );
    return c.html(trainingListPage(rows));
  });
  app.get("/trainings/new", (c) => c.html(trainingFormPage()));
  app.post("/trainings", async (c) => {
    const body = (await c.req.parseBody()) as Record<string, unknown>;
    const result = validateTrainingRequest(body);
    if (!result.ok) return c.html(trainingFormPage(stringValues(body), result.errors), 400);
    const training = await createTraining(db, result.value);
    return c.redirect(`/trainings/${training.id}`, 303);
  });
  app.get("/trainings/:id", async (c) => {
    const training = await getTraining(db, parseId(c.req.param("id"), "training"));
    const [progress, sessions] = await Promise.all([trainingProgress(db, training), listSessions(db, training.id)]);
    return c.html(trainingDetailPage(training, progress, sessions));
  });
  app.get("/player", (c) => c.html(playerPageHtml()));
  app.get("/assets/hls.min.js", (c) =>
    c.body(hlsScript(), 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=3600" }),
  );
  app.get("/assets/player.js", (c) =>
    c.body(playerScript(), 200, { "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get("/sessions/:id", async (c) =>
    c.html(sessionDetailPage(await getSession(db, parseId(c.req.param("id"), "session")))),
  );

  registerClassifyRoutes(app, db);
  registerListeningRoutes(app, db);

  // ---- JSON API
  app.get("/api/trainings", async (c) => {
    const trainings = await listTrainings(db);
    return c.json(
      await Promise.all(trainings.map(async (t) => ({ training: t, progress: await trainingProgress(db, t) }))),
    );
  });
  app.post("/api/trainings", async (c) => {
    let body: Record<string, unknown>;
    const type = c.req.header("content-type") ?? "";
    if (type.includes("application/json")) {
      try {
        body = (await c.req.json()) as Record<string, unknown>;
      } catch {
        throw new QoelabError("BAD_JSON", "request body is not valid JSON");
      }
      if (body === null || typeof body !== "object" || Array.isArray(body))
        throw new QoelabError("BAD_JSON", "request body must be a JSON object");
    } else body = (await c.req.parseBody()) as Record<string, unknown>;
    const result = validateTrainingRequest(body);
    if (!result.ok) {
      const message = Object.entries(result.errors)
        .map(([k, v]) => `${k}: ${v}`)
        .join("; ");
      return c.json({ code: "INVALID_INPUT", message, fields: result.errors }, 400);
    }
    const training = await createTraining(db, result.value);
    return c.json({ training, sessions: (await listSessions(db, training.id)).length }, 201);
  });
  app.get("/api/trainings/:id", async (c) => {
    const training = await getTraining(db, parseId(c.req.param("id"), "training"));
    return c.json({ training, progress: await trainingProgress(db, training) });
  });
  app.get("/api/trainings/:id/sessions", async (c) =>
    c.json(await listSessions(db, parseId(c.req.param("id"), "training"))),
  );
  app.get("/api/sessions/:id", async (c) => c.json(await getSession(db, parseId(c.req.param("id"), "session"))));
  app.get("/api/trainings/:id/export", async (c) => {
    const id = parseId(c.req.param("id"), "training");
    const file = await exportTraining(db, id, c.req.query("format") ?? "csv");
    return c.body(typeof file.body === "string" ? file.body : (file.body as Uint8Array<ArrayBuffer>), 200, {
      "content-type": file.contentType,
      "content-disposition": `attachment; filename="${file.filename}"`,
    });
  });
  app.get("/api/trainings/:id/pcaps.tar", async (c) => {
    const id = parseId(c.req.param("id"), "training");
    await getTraining(db, id);
    const tar = await (options.capturesArchive ?? ((t: number) => capturesArchive(db, t)))(id);
    return c.body(tar as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/x-tar",
      "content-disposition": `attachment; filename="qoelab-training-${id}-pcaps.tar"`,
    });
  });

  // ---- the seed's client protocol
  const controller = () => {
    if (!options.controller)
      throw new QoelabError("COLLECTION_UNAVAILABLE", "this server runs without a collection controller");
    return options.controller;
  };
  app.get("/api/trainings/:id/next", async (c) => {
    const id = parseId(c.req.param("id"), "training");
    await getTraining(db, id);
    const next = await controller().next(id, c.req.query("worker") ?? "browser");
    if (!next) return c.json({ done: true }, 200);
    return c.json({ done: false, session: next.session, url: next.url });
  });
  app.get("/api/sessions/:id/play", async (c) => {
    const id = parseId(c.req.param("id"), "session");
    return c.json({ done: false, ...(await controller().play(id)) });
  });
  app.post("/api/sessions/:id/start", async (c) => {
    const id = parseId(c.req.param("id"), "session");
    await controller().start(id);
    return c.json({ ok: true });
  });
  app.post("/api/sessions/:id/finish", async (c) => {
    const id = parseId(c.req.param("id"), "session");
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new QoelabError("BAD_JSON", "finish: request body is not valid JSON");
    }
    const appData = (body as { application_data?: unknown } | null)?.application_data;
    if (appData === null || typeof appData !== "object" || Array.isArray(appData)) {
      throw new QoelabError("INVALID_INPUT", "finish: body must be { application_data: { … } }", {
        fields: { application_data: "object required" },
      });
    }
    return c.json(await controller().finish(id, appData as Record<string, unknown>));
  });
  app.post("/api/sessions/:id/fail", async (c) => {
    const id = parseId(c.req.param("id"), "session");
    const body = (await c.req.json().catch(() => ({}))) as { reason?: unknown; attempt?: unknown };
    const attempt = Number.isSafeInteger(body.attempt) ? (body.attempt as number) : undefined;
    await controller().fail(id, typeof body.reason === "string" ? body.reason : "reported by player", attempt);
    return c.json({ ok: true });
  });
  return app;
}
