import { QoelabError } from "../errors.ts";

/** HTTP status for a coded error: the API answers `{ code, message }` with it. */
export function statusForError(error: unknown): 400 | 404 | 409 | 413 | 422 | 500 | 503 {
  if (!(error instanceof QoelabError)) return 500;
  if (error.code.endsWith("_NOT_FOUND")) return 404;
  if (error.code === "INVALID_INPUT" || error.code.startsWith("BAD_") || error.code.endsWith("_INVALID")) return 400;
  if (error.code === "PAYLOAD_TOO_LARGE") return 413;
  // Well-formed, but what it reports cannot be stored (a finish without playback).
  if (error.code === "PLAYER_NEVER_PLAYED") return 422;
  if (error.code.endsWith("_NOT_CAPTURING") || error.code.endsWith("_CONFLICT") || error.code.endsWith("_BUSY"))
    return 409;
  if (error.code.endsWith("_UNAVAILABLE") || error.code.startsWith("TOOL_MISSING")) return 503;
  return 500;
}

export function errorBody(error: unknown): { code: string; message: string; fields?: unknown } {
  if (error instanceof QoelabError) {
    const fields = error.details.fields;
    return { code: error.code, message: error.message, ...(fields ? { fields } : {}) };
  }
  return { code: "INTERNAL", message: error instanceof Error ? error.message : String(error) };
}
