import { Hono } from "hono";
import {
  capturesArchive,
  createTraining,
  exportTraining,
  fieldIssues,
  getSession,
  getTraining,
  hlsScript,
  impairmentOf,
  listSessions,
  listTrainings,
  playerScript,
  type SessionController,
  trainingProgress,
  validateTrainingRequest,
} from "../collect/index.ts";
import type { Db } from "../db/index.ts";
import { invalidFields, QoelabError } from "../errors.ts";
import {
  errorPage,
  homePage,
  NOT_FOUND_PAGE,
  playerPageHtml,
  sessionDetailPage,
  trainingDetailPage,
} from "../render/index.ts";
import { registerClassifyRoutes } from "./classify-routes.ts";
import { errorBody, statusForError } from "./http-error.ts";
import { registerListeningRoutes } from "./listening-routes.ts";
import { registerPageScripts } from "./page-scripts.ts";
import { bodyGuard, parseId, readFields, readJsonObject } from "./request-input.ts";
import { trainingLive } from "./training-live.ts";

export interface AppOptions {
  db: Db;
  /** The seed's client protocol (next/start/finish); absent → those endpoints answer 503. */
  controller?: SessionController;
  /** Builds a tar of a training's captures, when the collection side provides one. */
  capturesArchive?: (trainingId: number) => Promise<Uint8Array>;
}

function stringValues(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) out[k] = typeof v === "string" ? v : (JSON.stringify(v) ?? "");
  return out;
}

/** The web app: server-rendered pages and the JSON API. No business logic lives here. */
export function createApp(options: AppOptions): Hono {
  const { db } = options;
  const app = new Hono();

  app.onError((error, c) => {
    const status = statusForError(error);
    const body = errorBody(error);
    if (c.req.path.startsWith("/api/")) return c.json(body, status);
    return c.html(errorPage(status, body.message), status);
  });
  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? c.json(
          { code: "WEB_ROUTE_NOT_FOUND", message: `no API route ${c.req.method} ${c.req.path.slice(0, 200)}` },
          404,
        )
      : c.html(NOT_FOUND_PAGE, 404),
  );
  // Every body is read whole (within its route's limit) before a route runs.
  app.use("*", bodyGuard());

  const trainingRows = async () =>
    Promise.all((await listTrainings(db)).map(async (t) => ({ training: t, progress: await trainingProgress(db, t) })));
  const trainingId = (value: string | undefined) => parseId(value, "training", "TRAINING_NOT_FOUND");
  const sessionId = (value: string | undefined) => parseId(value, "session", "SESSION_NOT_FOUND");
  const live = async (id: number) => {
    const training = await getTraining(db, id);
    const [progress, sessions] = await Promise.all([trainingProgress(db, training), listSessions(db, training.id)]);
    return { training, live: trainingLive(training, progress, sessions) };
  };

  // ---- pages
  app.get("/", async (c) => c.html(homePage(await trainingRows())));
  app.get("/trainings/new", (c) => c.redirect("/#new-training", 302));
  app.post("/trainings", async (c) => {
    const body = await readFields(c, "new training");
    const result = validateTrainingRequest(body);
    if (!result.ok)
      return c.html(homePage(await trainingRows(), { values: stringValues(body), errors: result.errors }), 400);
    const training = await createTraining(db, result.value);
    return c.redirect(`/trainings/${training.id}`, 303);
  });
  app.get("/trainings/:id", async (c) => {
    const { training, live: data } = await live(trainingId(c.req.param("id")));
    return c.html(trainingDetailPage(training, data, impairmentOf(training)));
  });
  app.get("/player", (c) => c.html(playerPageHtml()));
  app.get("/assets/hls.min.js", (c) =>
    c.body(hlsScript(), 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=3600" }),
  );
  app.get("/assets/player.js", (c) =>
    c.body(playerScript(), 200, { "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get("/sessions/:id", async (c) => {
    const session = await getSession(db, sessionId(c.req.param("id")));
    return c.html(sessionDetailPage(session, impairmentOf(await getTraining(db, session.training_id))));
  });

  registerPageScripts(app);
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
    const body = await readFields(c, "new training");
    const result = validateTrainingRequest(body);
    if (!result.ok) throw invalidFields("TRAINING_INVALID_INPUT", "new training", fieldIssues(result.errors, body));
    const training = await createTraining(db, result.value);
    return c.json({ training, sessions: (await listSessions(db, training.id)).length }, 201);
  });
  app.get("/api/trainings/:id/live", async (c) => c.json((await live(trainingId(c.req.param("id")))).live));
  app.get("/api/trainings/:id", async (c) => {
    const training = await getTraining(db, trainingId(c.req.param("id")));
    return c.json({ training, progress: await trainingProgress(db, training) });
  });
  app.get("/api/trainings/:id/sessions", async (c) => c.json(await listSessions(db, trainingId(c.req.param("id")))));
  app.get("/api/sessions/:id", async (c) => c.json(await getSession(db, sessionId(c.req.param("id")))));
  app.get("/api/trainings/:id/export", async (c) => {
    const id = trainingId(c.req.param("id"));
    const file = await exportTraining(db, id, c.req.query("format") ?? "csv", {
      flows: c.req.query("table") === "flows",
    });
    return c.body(typeof file.body === "string" ? file.body : (file.body as Uint8Array<ArrayBuffer>), 200, {
      "content-type": file.contentType,
      "content-disposition": `attachment; filename="${file.filename}"`,
    });
  });
  app.get("/api/trainings/:id/pcaps.tar", async (c) => {
    const id = trainingId(c.req.param("id"));
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
    const id = trainingId(c.req.param("id"));
    await getTraining(db, id);
    const next = await controller().next(id, c.req.query("worker") ?? "browser");
    if (!next) return c.json({ done: true }, 200);
    return c.json({ done: false, session: next.session, url: next.url });
  });
  app.get("/api/sessions/:id/play", async (c) => {
    const id = sessionId(c.req.param("id"));
    return c.json({ done: false, ...(await controller().play(id)) });
  });
  app.post("/api/sessions/:id/start", async (c) => {
    const id = sessionId(c.req.param("id"));
    await controller().start(id);
    return c.json({ ok: true });
  });
  app.post("/api/sessions/:id/finish", async (c) => {
    const id = sessionId(c.req.param("id"));
    const body = await readJsonObject(c, "finish");
    const appData = body.application_data;
    if (appData === null || typeof appData !== "object" || Array.isArray(appData))
      throw invalidFields("PLAYER_BAD_FINISH", "finish", [
        { code: "invalid_type", path: ["application_data"], message: "an object is required" },
      ]);
    await getSession(db, id);
    return c.json(await controller().finish(id, appData as Record<string, unknown>));
  });
  app.post("/api/sessions/:id/fail", async (c) => {
    const id = sessionId(c.req.param("id"));
    await getSession(db, id);
    const body = (await c.req.json().catch(() => ({}))) as { reason?: unknown; attempt?: unknown } | null;
    const reason = typeof body?.reason === "string" ? body.reason : "reported by player";
    const attempt = Number.isSafeInteger(body?.attempt) ? (body?.attempt as number) : undefined;
    await controller().fail(id, reason, attempt);
    return c.json({ ok: true });
  });
  return app;
}
