/**
 * The one error base of qoelab. Every failure a user can cause carries a stable, domain-prefixed
 * string `code` (TRAINING_NOT_FOUND, LISTEN_BAD_SCORE, WEB_BAD_JSON…), a message naming the thing
 * and where (file and byte offset, form field, host, tool), and a `kind` saying what sort of
 * failure it is. The CLI prints `message` and exits non-zero; the web API answers
 * `{ code, message }` with the HTTP status web/ maps from `kind` (in one place).
 */

/**
 * What sort of failure an error is, independent of the interface that reports it:
 * - `bad_input`: the caller's input is malformed or out of range (fix the input and retry);
 * - `not_found`: a named thing (training, session, file) does not exist;
 * - `conflict`: the input is well-formed but the thing is not in a state that allows it;
 * - `unprocessable`: well-formed and allowed, but what it reports cannot be used;
 * - `too_large`: the input is bigger than the limit for it;
 * - `unavailable`: a tool, service or daemon it needs is missing or down (retry later);
 * - `internal`: anything else, a fault of qoelab or its environment.
 */
export type ErrorKind =
  | "bad_input"
  | "not_found"
  | "conflict"
  | "unprocessable"
  | "too_large"
  | "unavailable"
  | "internal";

/** One problem with one input field, as zod reports them: a machine code, the field's path, a message. */
export interface FieldIssue {
  /** What is wrong: "required", "invalid_type", "too_small", "too_big", "invalid_value"… */
  code: string;
  /** Where: the field name (and indexes / keys inside it). */
  path: ReadonlyArray<string | number>;
  message: string;
}

/**
 * The kind a code has when its throw site does not say: the naming convention of qoelab's codes.
 * `…_NOT_FOUND` → not_found; `…_BAD_…`, `…_INVALID…`, `…_UNKNOWN_…`, `…_UNSUPPORTED` → bad_input;
 * `…_TOO_LARGE` → too_large; `…_CONFLICT`, `…_BUSY`, `…_LOCKED` → conflict;
 * `…_UNAVAILABLE`, `…_UNREACHABLE`, `TOOL_MISSING…`, `…_TOOL_MISSING` → unavailable; else internal.
 * A throw site whose failure is of another kind passes `{ kind }`.
 */
export function kindOfCode(code: string): ErrorKind {
  if (code.endsWith("_NOT_FOUND")) return "not_found";
  if (code.endsWith("_TOO_LARGE")) return "too_large";
  if (/(^|_)BAD(_|$)|_INVALID(_|$)|_UNKNOWN_|_UNSUPPORTED(_|$)/.test(code)) return "bad_input";
  if (/_(CONFLICT|BUSY|LOCKED)$/.test(code)) return "conflict";
  if (/_(UNAVAILABLE|UNREACHABLE)$/.test(code) || /(^|_)TOOL_MISSING/.test(code)) return "unavailable";
  return "internal";
}

export class QoelabError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  /** Extra machine-readable facts (file, offset, field issues…) for JSON output. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown; kind?: ErrorKind },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "QoelabError";
    this.code = code;
    this.kind = options?.kind ?? kindOfCode(code);
    this.details = details;
  }

  /** The field issues this error carries (an input error names each bad field). */
  get issues(): FieldIssue[] {
    const issues = this.details.issues;
    return Array.isArray(issues) ? (issues as FieldIssue[]) : [];
  }

  toJSON(): { code: string; message: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

export function isQoelabError(value: unknown): value is QoelabError {
  return value instanceof QoelabError;
}

/**
 * A bad-input error carrying every field issue at once (collected, not thrown one by one).
 * The message lists them ("what: field: message; …"); `details.issues` holds them as data and
 * `details.fields` the first message per field (what a form shows beside each input).
 */
export function invalidFields(code: string, what: string, issues: readonly FieldIssue[]): QoelabError {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join(".") || "_";
    fields[key] ??= issue.message;
  }
  const list = Object.entries(fields)
    .map(([field, message]) => `${field}: ${message}`)
    .join("; ");
  return new QoelabError(code, `${what}: ${list}`, { issues: [...issues], fields }, { kind: "bad_input" });
}

/** The coded error for an input file the system would not read: names the file and the system's reason. */
export function unreadableFile(code: string, path: string, cause: unknown): QoelabError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new QoelabError(code, `${path}: cannot be read (${reason})`, { file: path });
}
