import { QoelabError } from "../errors.ts";

/** Validation failures collected per field (not thrown one by one), zod-style. */
export type FieldErrors = Record<string, string>;

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/** Throws a 400-class error carrying every field's message. */
export function invalidInput(what: string, errors: FieldErrors): QoelabError {
  const list = Object.entries(errors)
    .map(([field, message]) => `${field}: ${message}`)
    .join("; ");
  return new QoelabError("INVALID_INPUT", `${what}: ${list}`, { fields: errors });
}
