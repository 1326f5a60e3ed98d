import assert from "node:assert/strict";
import { test } from "node:test";
import { QoelabError } from "../errors.ts";
import { errorBody, statusForError } from "./http-error.ts";

test("coded errors map to the HTTP status a client can act on; anything else is a 500", () => {
  const status = (code: string) => statusForError(new QoelabError(code, code));
  assert.equal(status("TRAINING_NOT_FOUND"), 404);
  assert.equal(status("INVALID_INPUT"), 400);
  assert.equal(status("SESSION_NOT_CAPTURING"), 409);
  assert.equal(status("PLAYER_NEVER_PLAYED"), 422);
  assert.equal(status("TOOL_MISSING_TCPDUMP"), 503);
  assert.equal(status("CAPTURE_EMPTY"), 500);
  assert.equal(statusForError(new Error("boom")), 500);
  assert.deepEqual(errorBody(new Error("boom")), { code: "INTERNAL", message: "boom" });
});
