import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import { writeWav } from "../audio/index.ts";
import { failSession, getSession, type SessionController } from "../collect/index.ts";
import type { Db } from "../db/index.ts";
import { openTestDb, testDatabaseKinds } from "../db/test-support/test-db.ts";
import { QoelabError } from "../errors.ts";
import { createApp } from "./app.ts";

// Bad input on every route: the requests issue 16 listed, then a generated set of hostile fields
// (NUL, huge numbers, NaN/Infinity, negatives, long strings, wrong types, arrays, unicode, SQL- and
// path-like text) sent to every route the app registers, over real HTTP. No answer may be a 5xx,
// every error body is {code, message} without SQL, command lines or paths, and a 4xx leaves the
// database exactly as it was.

/** A controller that plays nothing: the protocol routes' own checks are what is tested. */
function idleController(db: Db): SessionController {
  const conflict = (id: number) =>
    new QoelabError("SESSION_NOT_CAPTURING", `session ${id} is not being run`, {}, { kind: "conflict" });
  return {
    next: async () => null,
    play: async (id) => {
      await getSession(db, id);
      throw conflict(id);
    },
    start: async (id) => {
      throw conflict(id);
    },
    finish: async (id) => {
      throw conflict(id);
    },
    fail: (id, reason, attempt) => failSession(db, id, reason, attempt),
  };
}

/**
 * One fingerprint of every table, in one query: its row count and the newest transaction that
 * wrote one of its rows (an insert or update makes a row version with a new xmin; a delete lowers
 * the count; a rolled-back write leaves no visible row).
 */
let fingerprintSql = "";
async function fingerprint(db: Db): Promise<string> {
  if (!fingerprintSql) {
    const tables = await db.query<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    fingerprintSql = tables
      .map(({ t }) => `SELECT '${t}' AS t, count(*) AS n, coalesce(max(x.xmin::text::bigint), 0) AS w FROM "${t}" x`)
      .join(" UNION ALL ");
  }
  const rows = await db.query<{ t: string; n: string; w: string }>(fingerprintSql);
  return rows.map((r) => `${r.t}:${r.n}:${r.w}`).join(",");
}

const STRINGS: readonly string[] = [
  "",
  "\u0000",
  "a\u0000b",
  "-1",
  "0",
  "1e30",
  "1e308",
  "NaN",
  "Infinity",
  "-Infinity",
  "0x10",
  "١٢",
  "9".repeat(400),
  "x".repeat(5000),
  "😀".repeat(40),
  "\ud800",
  "<script>alert(1)</script>",
  "' OR '1'='1",
  "1; DROP TABLE training; --",
  "../../../../etc/passwd",
  "%00",
  "\r\nSet-Cookie: x=1",
];
const JSON_ONLY: readonly unknown[] = [1e30, 1e308, -1, 2 ** 53, 1.5, true, null, [], [1, 2], { a: 1 }];
const IDS: readonly string[] = ["0", "-1", "999999999", "2147483648", "1e30", "abc", "%00", "..%2F..%2Fetc%2Fpasswd"];

const TRAINING_FIELDS = [
  "name",
  "number_of_videos",
  "session_duration",
  "bw_limitations",
  "warmup",
  "source",
  "urls",
  "seed",
  "slots",
  "max_attempts",
  "driver",
  "delay_ms",
  "loss_percent",
  "traces",
];
const TRAINING_BASE = { number_of_videos: "2", session_duration: "5", bw_limitations: "1", driver: "person" };

interface Sent {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | FormData | Uint8Array;
}

function wav(rate: number, seconds = 0.3): Uint8Array {
  const samples = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin(i / 4);
  return writeWav([samples], rate);
}

function form(fields: Record<string, unknown>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    if (Array.isArray(v)) for (const item of v) params.append(k, String(item));
    else params.append(k, typeof v === "string" ? v : JSON.stringify(v));
  }
  return params;
}

function multipart(fields: Record<string, string>, files: Array<[string, string, Uint8Array]> = []): FormData {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.append(k, v);
  for (const [field, name, bytes] of files) data.append(field, new Blob([bytes as Uint8Array<ArrayBuffer>]), name);
  return data;
}

const json = (value: unknown): { headers: Record<string, string>; body: string } => ({
  headers: { "content-type": "application/json" },
  body: JSON.stringify(value),
});

/** Percent-encodes, a lone surrogate as the bytes it would be (invalid UTF-8). */
function enc(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value
      .replace(/[\ud800-\udfff]/g, "\u0000")
      .split("\u0000")
      .map(encodeURIComponent)
      .join("%ED%A0%80");
  }
}

/** Bodies with hostile values, one field at a time: as JSON (strings and JSON-only values) or as a form. */
function fieldBodies(
  base: Record<string, unknown>,
  fields: readonly string[],
  encoding: "json" | "form",
): Array<Pick<Sent, "headers" | "body">> {
  const out: Array<Pick<Sent, "headers" | "body">> = [];
  for (const field of fields) {
    if (encoding === "form")
      for (const value of STRINGS)
        out.push({
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: form({ ...base, [field]: value }).toString(),
        });
    else for (const value of [...STRINGS, ...JSON_ONLY]) out.push(json({ ...base, [field]: value }));
  }
  return out;
}

/** Bodies no route should accept as they are. */
const RAW_BODIES: ReadonlyArray<Pick<Sent, "headers" | "body">> = [
  { headers: { "content-type": "application/json" }, body: "{not json" },
  { headers: { "content-type": "application/json" }, body: "[]" },
  { headers: { "content-type": "application/json" }, body: "null" },
  { headers: { "content-type": "application/json" }, body: "1e308" },
  { headers: { "content-type": "application/json" }, body: '"\\u0000"' },
  { headers: { "content-type": "multipart/form-data" }, body: "x=1" },
  { headers: { "content-type": "multipart/form-data; boundary=zz" }, body: "--zz\r\nbroken" },
  { headers: { "content-type": "text/plain" }, body: "hello" },
  { headers: { "content-type": "application/x-www-form-urlencoded" }, body: "%%%=%%%&a=%00" },
  { headers: { "content-type": "application/json" }, body: JSON.stringify({ x: "a".repeat(1 << 20) }) },
];

/** Every registered route with hostile path parameters, queries and bodies. */
function generate(app: Hono, ids: { training: number; session: number; test: number; rater: string }): Sent[] {
  const routes = app.routes.filter((r) => r.method !== "ALL");
  const seen = new Set<string>();
  const sent: Sent[] = [];
  const valid: Record<string, string> = {
    id: "",
    job: "1",
    rater: ids.rater,
    file: "0".repeat(64),
  };
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1] ?? "");
    const idFor = route.path.startsWith("/api/listen") || route.path.startsWith("/listen") ? ids.test : undefined;
    const base = (overrides: Record<string, string> = {}) =>
      route.path.replace(/:(\w+)/g, (_, name: string) => {
        if (overrides[name] !== undefined) return overrides[name];
        if (name === "id") return String(idFor ?? (route.path.includes("/sessions/") ? ids.session : ids.training));
        return encodeURIComponent(valid[name] ?? "x");
      });
    // Hostile path parameters, one at a time.
    for (const name of params)
      for (const id of IDS)
        sent.push({ method: route.method, path: base({ [name]: id.includes("%") ? id : enc(id) }) });
    const path = base();
    if (route.method === "GET") {
      sent.push({ method: "GET", path });
      for (const value of ["\u0000", "1e308", "-1", "x".repeat(3000), "\ud800", "' OR 1=1 --", "../../etc/passwd"]) {
        const q = enc(value);
        sent.push({ method: "GET", path: `${path}?format=${q}&worker=${q}&training=${q}&rater=${q}` });
      }
      continue;
    }
    for (const body of RAW_BODIES) sent.push({ method: route.method, path, ...body });
    // The API route takes every value as JSON on a valid base (so a value that passes reaches the
    // database); the page route takes the form's strings.
    if (route.path === "/api/trainings")
      for (const body of fieldBodies(TRAINING_BASE, TRAINING_FIELDS, "json"))
        sent.push({ method: "POST", path, ...body });
    else if (route.path === "/trainings")
      for (const body of fieldBodies(TRAINING_BASE, TRAINING_FIELDS, "form").filter((_, i) => i % 3 === 0))
        sent.push({ method: "POST", path, ...body });
    else if (route.path.endsWith("/classify"))
      for (const body of fieldBodies(
        { label: "label_stalled" },
        ["label", "model", "cv", "group", "seed", "include_bandwidth"],
        "form",
      ))
        sent.push({ method: "POST", path, ...body });
    else if (route.path.endsWith("/finish"))
      for (const body of fieldBodies({}, ["application_data"], "json")) sent.push({ method: "POST", path, ...body });
    else if (route.path.endsWith("/fail"))
      for (const body of fieldBodies({}, ["reason", "attempt"], "json")) sent.push({ method: "POST", path, ...body });
    else if (route.path.endsWith("/hearing"))
      for (const body of fieldBodies({}, ["answer"], "json")) sent.push({ method: "POST", path, ...body });
    else if (route.path.endsWith("/ratings"))
      for (const body of fieldBodies({ score: 3, clipId: 1 }, ["clipId", "score"], "json"))
        sent.push({ method: "POST", path, ...body });
    else if (route.path === "/api/listen/tests") {
      const good = wav(8000);
      const badRate = new Uint8Array(good);
      new DataView(badRate.buffer).setUint32(24, 0x7fffffff, true);
      const zeroRate = new Uint8Array(good);
      new DataView(zeroRate.buffer).setUint32(24, 0, true);
      const uploads: Array<Array<[string, string, Uint8Array]>> = [
        [],
        [["clips", "c0.wav", new Uint8Array(0)]],
        [["clips", "c0.wav", new TextEncoder().encode("hello")]],
        [
          ["clips", "c0.wav", badRate],
          ["clips", "c1.wav", good],
        ],
        [
          ["clips", "c0.wav", zeroRate],
          ["clips", "c1.wav", good],
        ],
        [
          ["clips", "c0.wav", good.subarray(0, 40)],
          ["clips", "c1.wav", good],
        ],
        [["clips", "../../etc/passwd", good]],
        [["clips", "a\u0000b.wav", good]],
        [["clips", "x".repeat(3000), good]],
        [["clips", ".hidden.wav", good]],
        [["reference", "reference.wav", good]],
      ];
      for (const files of uploads)
        sent.push({ method: "POST", path, body: multipart({ name: "t", method: "acr" }, files) });
      for (const method of STRINGS.filter((_, i) => i % 2 === 0))
        sent.push({ method: "POST", path, body: multipart({ name: method, method }, [["clips", "c0.wav", good]]) });
    }
  }
  return sent;
}

for (const kind of testDatabaseKinds()) {
  describe(`hostile requests on ${kind}`, () => {
    let db: Awaited<ReturnType<typeof openTestDb>>;
    let app: Hono;
    let server: ServerType;
    let base = "";
    const ids = { training: 0, session: 0, test: 0, rater: "amy" };

    before(async () => {
      db = await openTestDb(kind);
      app = createApp({ db, controller: idleController(db) });
      server = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
      });
      const address = server.address();
      base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
      const created = await fetch(`${base}/api/trainings`, { method: "POST", ...json(TRAINING_BASE) });
      assert.equal(created.status, 201);
      ids.training = ((await created.json()) as { training: { id: number } }).training.id;
      const sessions = (await (await fetch(`${base}/api/trainings/${ids.training}/sessions`)).json()) as Array<{
        id: number;
      }>;
      ids.session = sessions[0]?.id ?? 0;
      const upload = await fetch(`${base}/api/listen/tests`, {
        method: "POST",
        body: multipart({ name: "hostile", method: "acr" }, [
          ["clips", "c0.wav", wav(8000)],
          ["clips", "c1.wav", wav(8000)],
        ]),
      });
      assert.equal(upload.status, 201, await upload.clone().text());
      ids.test = ((await upload.json()) as { id: number }).id;
      // The rater passes the hearing check, so a rating's clipId reaches the database.
      assert.equal((await fetch(`${base}/api/listen/tests/${ids.test}/raters/amy/state`)).status, 200);
      const [hearing] = await db.query<{ answer: string }>(
        "SELECT answer FROM listening_clip WHERE test_id = $1 AND kind = 'hearing' ORDER BY id LIMIT 1",
        [ids.test],
      );
      const passed = await fetch(`${base}/api/listen/tests/${ids.test}/raters/amy/hearing`, {
        method: "POST",
        ...json({ answer: hearing?.answer }),
      });
      assert.equal(passed.status, 200);
    });
    after(async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await db.drop();
    });

    /** Sends one request; asserts no 5xx, a clean {code, message} on errors, and no change on a 4xx. */
    const check = async (request: Sent, state: { print: string }) => {
      const response = await fetch(`${base}${request.path}`, {
        method: request.method,
        redirect: "manual",
        ...(request.headers ? { headers: request.headers } : {}),
        ...(request.body !== undefined ? { body: request.body as BodyInit } : {}),
      });
      const text = await response.text();
      const what = `${request.method} ${request.path.slice(0, 120)} ${String(request.headers?.["content-type"] ?? "")} → ${response.status} ${text.slice(0, 200)}`;
      assert.ok(response.status < 500, what);
      if (response.status >= 400) {
        if (request.path.startsWith("/api/")) {
          const body = JSON.parse(text) as { code?: unknown; message?: unknown };
          assert.equal(typeof body.code, "string", what);
          assert.equal(typeof body.message, "string", what);
        }
        assert.doesNotMatch(
          text,
          /\b(INSERT INTO|SELECT .* FROM|UPDATE \w+ SET)\b|\/tmp\/|qoelab-upload-|\bsox\b|espeak/i,
          what,
        );
        const now = await fingerprint(db);
        assert.equal(now, state.print, `stored change after a ${response.status}: ${what}`);
      } else state.print = await fingerprint(db);
      return response.status;
    };

    test("the requests issue 16 listed answer 4xx with a coded message", async () => {
      const state = { print: await fingerprint(db) };
      const nul = await fetch(`${base}/api/trainings`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "name=a%00b&number_of_videos=1&session_duration=5&bw_limitations=1&driver=person",
      });
      assert.equal(nul.status, 400);
      const nulBody = (await nul.json()) as { code: string; issues: Array<{ path: string[] }> };
      assert.equal(nulBody.code, "TRAINING_INVALID_INPUT");
      assert.deepEqual(nulBody.issues[0]?.path, ["name"]);
      for (const path of ["/trainings", "/api/trainings"]) {
        const noBoundary = await fetch(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "multipart/form-data" },
          body: "name=x",
        });
        assert.equal(noBoundary.status, 400, path);
      }
      for (const clipId of ["1e30", "1e23", "1e308"]) {
        const rating = await fetch(`${base}/api/listen/tests/${ids.test}/raters/amy/ratings`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: `{"clipId": ${clipId}, "score": 3}`,
        });
        assert.equal(rating.status, 400, clipId);
        assert.doesNotMatch(await rating.text(), /SELECT|listening_clip/);
      }
      const good = wav(8000);
      const badRate = new Uint8Array(good);
      new DataView(badRate.buffer).setUint32(24, 0x7fffffff, true);
      const upload = await fetch(`${base}/api/listen/tests`, {
        method: "POST",
        body: multipart({ name: "t", method: "acr" }, [
          ["clips", "c0.wav", badRate],
          ["clips", "c1.wav", good],
        ]),
      });
      assert.ok(upload.status === 400 || upload.status === 422, String(upload.status));
      const uploadBody = (await upload.json()) as { code: string; message: string };
      assert.equal(uploadBody.code, "LISTEN_CLIP_NOT_AUDIO");
      assert.doesNotMatch(uploadBody.message, /sox|\/tmp|qoelab-upload/);
      for (const id of ["999999999", "0"]) {
        const fail = await fetch(`${base}/api/sessions/${id}/fail`, { method: "POST" });
        assert.equal(fail.status, 404, id);
        assert.equal(((await fail.json()) as { code: string }).code, "SESSION_NOT_FOUND");
      }
      assert.equal(await fingerprint(db), state.print, "none of them stored anything");
    });

    test("a 1 MB body to POST /trainings is a 413 with a message, and the keep-alive connection answers the next request", async () => {
      const big = JSON.stringify({ name: "a".repeat(1 << 20) });
      const port = new URL(base).port;
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), "127.0.0.1");
        let text = "";
        socket.on("data", (d) => {
          text += d.toString("latin1");
          if ((text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= 2 && text.endsWith("]")) socket.end();
        });
        socket.on("error", reject);
        socket.on("close", () => resolve(text));
        socket.write(
          `POST /trainings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(big)}\r\n\r\n${big}`,
        );
        socket.write("GET /api/trainings HTTP/1.1\r\nHost: x\r\n\r\n");
        setTimeout(() => socket.end(), 10_000).unref();
      });
      const statuses = raw.match(/HTTP\/1\.1 \d{3}/g) ?? [];
      assert.deepEqual(statuses, ["HTTP/1.1 413", "HTTP/1.1 200"], raw.slice(0, 500));
      assert.match(raw, /"code":"WEB_BODY_TOO_LARGE","message":"request body too large: [^"]+"/);
    });

    test("generated hostile fields on every route: no 5xx, coded errors, no stored change on a 4xx", async (t) => {
      const sent = generate(app, ids);
      const routes = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
      const state = { print: await fingerprint(db) };
      const statuses = new Map<number, number>();
      for (const request of sent) {
        const status = await check(request, state);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      const summary = [...statuses.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([s, n]) => `${s}×${n}`)
        .join(" ");
      t.diagnostic(`${sent.length} requests to ${routes.size} routes: ${summary}`);
      assert.ok(sent.length > 1000);
      assert.ok(![...statuses.keys()].some((s) => s >= 500));
    });
  });
}
