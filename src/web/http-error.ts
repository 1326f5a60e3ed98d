import { homedir, tmpdir } from "node:os";
import { type ErrorKind, type FieldIssue, QoelabError } from "../errors.ts";

export type ErrorStatus = 400 | 404 | 409 | 413 | 422 | 500 | 503;

/** The one map from an error's kind to the HTTP status the API answers with. */
export const STATUS_OF_KIND: Readonly<Record<ErrorKind, ErrorStatus>> = {
  bad_input: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  unavailable: 503,
  internal: 500,
};

/** HTTP status for an error: a coded error's kind; anything uncoded is a 500. */
export function statusForError(error: unknown): ErrorStatus {
  return error instanceof QoelabError ? STATUS_OF_KIND[error.kind] : 500;
}

export interface ErrorBody {
  code: string;
  message: string;
  /** Each bad field, zod-style. */
  issues?: FieldIssue[];
  /** The first message per field (what a form shows beside each input). */
  fields?: Record<string, string>;
}

/**
 * The body the web answers an error with. A client-caused error says what and where; a fault of
 * the server (kind internal, or an uncoded error) says only its code: its message can hold SQL,
 * command lines and paths, which go to the server's log instead.
 */
export function errorBody(error: unknown, log: (message: string) => void = defaultLog): ErrorBody {
  if (error instanceof QoelabError && error.kind !== "internal") {
    const issues = error.issues;
    const fields = error.details.fields as Record<string, string> | undefined;
    return {
      code: error.code,
      message: withoutPaths(error.message),
      ...(issues.length > 0 ? { issues } : {}),
      ...(fields && typeof fields === "object" ? { fields } : {}),
    };
  }
  const code = error instanceof QoelabError ? error.code : "WEB_INTERNAL";
  log(`qoelab web: ${code}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return { code, message: `the server failed (${code}); its log has the details` };
}

function defaultLog(message: string): void {
  process.stderr.write(`${message}\n`);
}

const PATH_ROOTS = [
  ...new Set([
    tmpdir(),
    homedir(),
    process.cwd(),
    "/tmp",
    "/var",
    "/home",
    "/root",
    "/work",
    "/usr",
    "/etc",
    "/opt",
    "/srv",
    "/run",
  ]),
]
  .filter((root) => root.length > 1)
  .map((root) => root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
const LOCAL_PATH = new RegExp(`(?<![\\w.:/-])(?:${PATH_ROOTS.join("|")})(?:/[^\\s/:"'()]+)*/([^\\s/:"'()]+)`, "g");

/** A message as a web client may read it: a local file path is cut to its last name (no temp folders, no layout). */
export function withoutPaths(message: string): string {
  return message.replace(LOCAL_PATH, "$1");
}
