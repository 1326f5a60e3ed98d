import assert from "node:assert/strict";
import { test } from "node:test";
import { QoelabError } from "../errors.ts";
import { errorBody, statusForError, withoutPaths } from "./http-error.ts";

test("an error's kind maps to the HTTP status a client can act on; anything uncoded is a 500", () => {
  const status = (code: string, kind?: ConstructorParameters<typeof QoelabError>[3]) =>
    statusForError(new QoelabError(code, code, {}, kind));
  assert.equal(status("TRAINING_NOT_FOUND"), 404);
  assert.equal(status("TRAINING_INVALID_INPUT"), 400);
  assert.equal(status("WEB_BAD_JSON"), 400);
  assert.equal(status("SESSION_NOT_CAPTURING", { kind: "conflict" }), 409);
  assert.equal(status("PLAYER_NEVER_PLAYED", { kind: "unprocessable" }), 422);
  assert.equal(status("TOOL_MISSING_TCPDUMP"), 503);
  assert.equal(status("COLLECTION_UNAVAILABLE"), 503);
  assert.equal(status("WEB_BODY_TOO_LARGE"), 413);
  assert.equal(status("CAPTURE_EMPTY"), 500);
  assert.equal(statusForError(new Error("boom")), 500);
});

test("a server fault's body names only its code; a client error's body loses local paths", () => {
  const logged: string[] = [];
  const log = (m: string) => logged.push(m);
  const internal = errorBody(new Error("relation x: SELECT * FROM training"), log);
  assert.deepEqual(internal, {
    code: "WEB_INTERNAL",
    message: "the server failed (WEB_INTERNAL); its log has the details",
  });
  assert.match(logged[0] ?? "", /SELECT \* FROM training/, "the details go to the log");
  const tool = errorBody(new QoelabError("LISTEN_AUDIO_TOOL_FAILED", "sox /tmp/qoelab-x/a.wav -r 8000 failed"), log);
  assert.doesNotMatch(tool.message, /sox|\/tmp/);
  const clip = errorBody(
    new QoelabError("LISTEN_CLIP_NOT_AUDIO", "/tmp/qoelab-upload-1a/c0.wav: not a WAV", {}, { kind: "bad_input" }),
    log,
  );
  assert.equal(clip.message, "c0.wav: not a WAV");
  assert.equal(withoutPaths("no API route GET /api/x"), "no API route GET /api/x");
});
