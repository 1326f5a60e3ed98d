import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type Context, Hono } from "hono";
import type { Db } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import {
  checkRaterKey,
  clipsFromFolder,
  createListeningTest,
  formatRatingsCsv,
  getListeningAudio,
  getListeningTest,
  listeningOverview,
  listeningRatings,
  listListeningTests,
  parseMethod,
  raterState,
  ratingScale,
  submitHearingCheck,
  submitRating,
} from "../quality/listening/index.ts";
import {
  errorPage,
  listeningAdminPage,
  listeningListPage,
  listeningRaterPage,
  listeningStartPage,
  type PageNav,
} from "../render/index.ts";
import { errorBody, statusForError } from "./http-error.ts";
import { listeningRaterScript } from "./listening-rater-script.ts";
import { parseId } from "./request-input.ts";

/** A listening test's id in the path (one parseId for the whole app). */
function parseTestId(value: string | undefined): number {
  return parseId(value, "listening test", "LISTEN_TEST_NOT_FOUND");
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new QoelabError("LISTEN_BAD_JSON", "request body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new QoelabError("LISTEN_BAD_JSON", "request body must be a JSON object");
  return body as Record<string, unknown>;
}

/** Upload names: "<condition>.wav" (one clip) or "<condition>__<clip>.wav"; "reference.wav" is DCR's reference. */
function uploadPath(dir: string, filename: string): string {
  const name = basename(filename).replace(/[^A-Za-z0-9._-]/g, "_");
  if (!name || name.startsWith(".") || name.length > 200)
    throw new QoelabError("LISTEN_BAD_UPLOAD", `upload: bad file name "${filename.slice(0, 80)}" (1–200 characters)`);
  const split = name.indexOf("__");
  if (split > 0) {
    const folder = join(dir, name.slice(0, split));
    mkdirSync(folder, { recursive: true });
    return join(folder, name.slice(split + 2));
  }
  return join(dir, name);
}

/** The app of `qoelab listen serve`: the listening tests alone, `/` leading to their list. */
export function createListeningApp(db: Db): Hono {
  const app = new Hono();
  app.get("/", (c) => c.redirect("/listen"));
  registerListeningRoutes(app, db, { nav: "listening" });
  return app;
}

/**
 * The listening-test pages and API. The app calls this once: `registerListeningRoutes(app, db)`;
 * `qoelab listen serve` serves them alone (`nav: "listening"`: no links to the video pages it lacks).
 */
export function registerListeningRoutes(app: Hono, db: Db, options: { nav?: PageNav } = {}): void {
  const nav = options.nav ?? "full";
  const api = (handler: (c: Context) => Promise<Response>) => async (c: Context) => {
    try {
      return await handler(c);
    } catch (error) {
      return c.json(errorBody(error), statusForError(error));
    }
  };
  const pageRoute = (handler: (c: Context) => Promise<Response>) => async (c: Context) => {
    try {
      return await handler(c);
    } catch (error) {
      const status = statusForError(error);
      return c.html(errorPage(status, errorBody(error).message, { href: "/listen", text: "Listening tests" }), status);
    }
  };

  // ---- pages
  app.get(
    "/listen",
    pageRoute(async (c) => c.html(listeningListPage(await listListeningTests(db), nav))),
  );
  app.get(
    "/listen/:id",
    pageRoute(async (c) => {
      const test = await getListeningTest(db, parseTestId(c.req.param("id")));
      return c.html(listeningStartPage(test, ratingScale(test.method), `p-${randomBytes(4).toString("hex")}`, nav));
    }),
  );
  app.get(
    "/listen/:id/r",
    pageRoute(async (c) => {
      const test = await getListeningTest(db, parseTestId(c.req.param("id")));
      const rater = checkRaterKey(c.req.query("rater") ?? "");
      return c.redirect(`/listen/${test.id}/r/${rater}`, 303);
    }),
  );
  app.get(
    "/listen/:id/r/:rater",
    pageRoute(async (c) => {
      const test = await getListeningTest(db, parseTestId(c.req.param("id")));
      const rater = checkRaterKey(c.req.param("rater") ?? "");
      return c.html(listeningRaterPage(test, ratingScale(test.method), rater, nav));
    }),
  );
  app.get(
    "/listen/:id/admin",
    pageRoute(async (c) =>
      c.html(listeningAdminPage(await listeningOverview(db, parseTestId(c.req.param("id"))), nav)),
    ),
  );
  app.get("/assets/listening.js", (c) =>
    c.body(listeningRaterScript(), 200, { "content-type": "text/javascript; charset=utf-8" }),
  );

  // ---- API
  app.get(
    "/api/listen/tests",
    api(async (c) => c.json(await listListeningTests(db))),
  );
  app.post(
    "/api/listen/tests",
    api(async (c) => {
      const form = await c.req.parseBody({ all: true }).catch(() => {
        throw new QoelabError("LISTEN_BAD_UPLOAD", "upload: send multipart/form-data with name, method and clips");
      });
      const method = parseMethod(typeof form.method === "string" ? form.method : undefined);
      const name = typeof form.name === "string" && form.name.trim() ? form.name.trim() : "uploaded test";
      const files = ([] as unknown[])
        .concat(form.clips ?? [], form.reference ?? [])
        .filter((f): f is File => f instanceof File);
      if (files.length === 0)
        throw new QoelabError("LISTEN_NO_CLIPS", "upload: no files in the clips field", {}, { kind: "bad_input" });
      const dir = mkdtempSync(join(tmpdir(), "qoelab-upload-"));
      try {
        for (const file of files) writeFileSync(uploadPath(dir, file.name), new Uint8Array(await file.arrayBuffer()));
        const clips = (() => {
          try {
            return clipsFromFolder(dir);
          } catch (error) {
            // The temporary folder is the server's business: the client sent "the upload".
            if (!(error instanceof QoelabError)) throw error;
            const message = error.message.replaceAll(`${dir}/`, "").replaceAll(dir, "the upload");
            throw new QoelabError(error.code, message, {}, { kind: error.kind, cause: error });
          }
        })();
        const source = `upload (${files
          .map((f) => f.name)
          .join(", ")
          .slice(0, 200)})`;
        const test = await createListeningTest(db, { name, method, clips: { ...clips, source } });
        return c.json(test, 201);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );
  app.get(
    "/api/listen/tests/:id",
    api(async (c) => c.json(await listeningOverview(db, parseTestId(c.req.param("id"))))),
  );
  app.get(
    "/api/listen/tests/:id/ratings.csv",
    api(async (c) => {
      const id = parseTestId(c.req.param("id"));
      const csv = formatRatingsCsv(await listeningRatings(db, id));
      return c.body(csv, 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="qoelab-listening-${id}-ratings.csv"`,
      });
    }),
  );
  app.get(
    "/api/listen/tests/:id/raters/:rater/state",
    api(async (c) => c.json(await raterState(db, parseTestId(c.req.param("id")), c.req.param("rater") ?? ""))),
  );
  app.post(
    "/api/listen/tests/:id/raters/:rater/hearing",
    api(async (c) => {
      const body = await jsonBody(c);
      return c.json(
        await submitHearingCheck(db, parseTestId(c.req.param("id")), c.req.param("rater") ?? "", body.answer),
      );
    }),
  );
  app.post(
    "/api/listen/tests/:id/raters/:rater/ratings",
    api(async (c) => {
      const body = await jsonBody(c);
      const state = await submitRating(db, parseTestId(c.req.param("id")), c.req.param("rater") ?? "", {
        clipId: body.clipId,
        score: body.score,
      });
      return c.json(state, 201);
    }),
  );
  app.get(
    "/api/listen/audio/:file",
    api(async (c) => {
      const sha = (c.req.param("file") ?? "").replace(/\.wav$/, "");
      const bytes = await getListeningAudio(db, sha);
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "audio/wav",
        "cache-control": "public, max-age=31536000, immutable",
      });
    }),
  );
}
