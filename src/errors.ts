/**
 * The one error base of qoelab. Every failure a user can cause carries a stable string `code`
 * and a message naming the thing and where (file and byte offset, form field, host, tool).
 * The CLI prints `message` and exits non-zero; the web API answers `{ code, message }`.
 */
export class QoelabError extends Error {
  readonly code: string;
  /** Extra machine-readable facts (file, offset, field, …) for JSON output. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "QoelabError";
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: string; message: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

export function isQoelabError(value: unknown): value is QoelabError {
  return value instanceof QoelabError;
}
