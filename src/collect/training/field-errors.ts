import { type FieldIssue, invalidFields, type QoelabError } from "../../errors.ts";

/** Validation failures collected per field (not thrown one by one), zod-style: field → message. */
export type FieldErrors = Record<string, string>;

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/**
 * The field issues `{ code, path, message }` of collected field errors: "required" when the raw
 * input left the field empty, "invalid_value" otherwise.
 */
export function fieldIssues(errors: FieldErrors, raw: Record<string, unknown> = {}): FieldIssue[] {
  return Object.entries(errors).map(([field, message]) => {
    const value = raw[field];
    const empty = value === undefined || value === null || (typeof value === "string" && value.trim() === "");
    return { code: empty ? "required" : "invalid_value", path: [field], message };
  });
}

/** A bad-input error (`code`, e.g. TRAINING_INVALID_INPUT) carrying every field's issue. */
export function invalidInput(
  code: string,
  what: string,
  errors: FieldErrors,
  raw: Record<string, unknown> = {},
): QoelabError {
  return invalidFields(code, what, fieldIssues(errors, raw));
}
