import { DEFAULT_LADDER, type FieldErrors, TRACE_SCALE_LIMITS, TRAINING_LIMITS } from "../collect/index.ts";
import { html, type RawHtml } from "./html.ts";

/**
 * The seed's training form, described field by field: each entry renders its label, input (with
 * the type/min/max the browser checks first), hint and the server's message beside it. A new
 * field is one more entry in TRAINING_FORM_FIELDS (validation lives in collect/training/training-request.ts).
 */
export interface FormField {
  name: string;
  label: string;
  hint?: string | ((values: FormValues) => RawHtml | string);
  /** integer/decimal → <input type=number>; text → <input>; select → <select> of `options`. */
  input: "integer" | "decimal" | "text" | "select";
  min?: number;
  max?: number;
  step?: number;
  placeholder?: string;
  /** The value an empty form starts with. */
  initial?: string;
  options?: ReadonlyArray<readonly [value: string, label: string]>;
  required?: boolean;
  /** In the folded "More" section. */
  more?: boolean;
}

export type FormValues = Record<string, string>;

/** The built-in origin's renditions, so a user can pick limits below, between and above them. */
function renditionsHint(): string {
  const steps = DEFAULT_LADDER.map((r) => `${r.name} ${+(r.videoKbps / 1000).toFixed(3)}`).join(", ");
  return `built-in renditions (video cap, Mbit/s): ${steps}`;
}

export const TRAINING_FORM_FIELDS: readonly FormField[] = [
  { name: "name", label: "Name", hint: "(optional)", input: "text" },
  {
    name: "number_of_videos",
    label: "Number of videos",
    input: "integer",
    min: 1,
    max: TRAINING_LIMITS.maxVideos,
    initial: "6",
    required: true,
  },
  {
    name: "session_duration",
    label: "Duration of each session (s)",
    input: "integer",
    min: TRAINING_LIMITS.minDuration,
    max: TRAINING_LIMITS.maxDuration,
    initial: "60",
    required: true,
  },
  {
    name: "bw_limitations",
    label: "Bandwidth limitations (Mbit/s, comma-separated)",
    hint: () => html`<span id="renditions">${renditionsHint()}</span>`,
    input: "text",
    placeholder: "0.25, 1, 2",
    initial: "0.25, 1, 2",
  },
  {
    name: "traces",
    label: "Bandwidth traces (names, comma-separated)",
    hint: "(optional, beside or instead of the limits; `qoelab traces list` shows them, e.g. hsdpa-bus-2010-09-28_1407)",
    input: "text",
    placeholder: "hsdpa-tram-2011-02-02_1345, fcc-yahoo-797172",
    initial: "",
  },
  {
    name: "trace_scale",
    label: "Trace rate scale",
    hint: "(every trace's rates × this, timing kept: 0.3 brings a 3G trace into a 160p–720p ladder's range; 1 = as recorded)",
    input: "decimal",
    min: TRACE_SCALE_LIMITS.min,
    max: TRACE_SCALE_LIMITS.max,
    step: 0.01,
    initial: "1",
    more: true,
  },
  {
    name: "delay_ms",
    label: "Added delay on the downstream (ms)",
    hint: "(0 = none; the link emulator where the kernel has no netem)",
    input: "decimal",
    min: 0,
    max: TRAINING_LIMITS.maxDelayMs,
    step: 0.1,
    initial: "0",
    more: true,
  },
  {
    name: "loss_percent",
    label: "Random loss on the downstream (%)",
    input: "decimal",
    min: 0,
    max: TRAINING_LIMITS.maxLossPercent,
    step: 0.01,
    initial: "0",
    more: true,
  },
  {
    name: "warmup",
    label: "Warm-up before recording (s)",
    input: "integer",
    min: 0,
    max: TRAINING_LIMITS.maxWarmup,
    initial: "20",
    more: true,
  },
  {
    name: "source",
    label: "Video source",
    input: "select",
    options: [
      ["local", "built-in local origin"],
      ["twitch", "Twitch top live channels"],
      ["urls", "a list of HLS URLs"],
    ],
    initial: "local",
    more: true,
  },
  { name: "urls", label: "HLS URLs", hint: "(for “a list of HLS URLs”)", input: "text", more: true },
  {
    name: "driver",
    label: "Who plays the videos",
    input: "select",
    options: [
      ["worker", "the collection worker (headless chromium in the lab)"],
      ["person", "a person, in a browser on this host (open the player page)"],
    ],
    initial: "worker",
    more: true,
  },
  { name: "seed", label: "Seed", input: "integer", min: 0, max: 2 ** 31 - 1, initial: "1", more: true },
  {
    name: "slots",
    label: "Lab slots in parallel",
    input: "integer",
    min: 1,
    max: TRAINING_LIMITS.maxSlots,
    initial: "1",
    more: true,
  },
  { name: "max_attempts", label: "Attempts per session", input: "integer", min: 1, max: 10, initial: "3", more: true },
];

function fieldHtml(field: FormField, values: FormValues, errors: FieldErrors): RawHtml {
  const value = values[field.name] ?? field.initial ?? "";
  const message = errors[field.name];
  const error = message ? html`<span class="error" id="${field.name}-error" role="alert">${message}</span>` : "";
  const hint = typeof field.hint === "function" ? field.hint(values) : field.hint;
  const label = html`<label for="${field.name}">${field.label}${hint ? html` <span class="hint">${hint}</span>` : ""}</label>`;
  const invalid = message ? html` aria-invalid="true" aria-describedby="${field.name}-error"` : "";
  if (field.input === "select") {
    return html`${label}<select id="${field.name}" name="${field.name}"${invalid}>${(field.options ?? []).map(
      ([v, text]) => html`<option value="${v}"${value === v ? html` selected` : ""}>${text}</option>`,
    )}</select>${error}`;
  }
  const numeric = field.input === "integer" || field.input === "decimal";
  const attributes = html`${numeric ? html` type="number" step="${field.step ?? 1}"` : html` type="text"`}${
    field.min !== undefined ? html` min="${field.min}"` : ""
  }${field.max !== undefined ? html` max="${field.max}"` : ""}${field.placeholder ? html` placeholder="${field.placeholder}"` : ""}${
    field.required ? html` required` : ""
  }${field.input === "text" ? html` maxlength="2000"` : ""}`;
  return html`${label}<input id="${field.name}" name="${field.name}"${attributes} value="${value}"${invalid}>${error}`;
}

/**
 * The form (the home page's top): the main fields, then "More", which opens by itself when one of
 * its fields has an error.
 */
export function trainingForm(values: FormValues = {}, errors: FieldErrors = {}): RawHtml {
  const main = TRAINING_FORM_FIELDS.filter((f) => !f.more);
  const more = TRAINING_FORM_FIELDS.filter((f) => f.more);
  const moreHasError = more.some((f) => errors[f.name] !== undefined);
  const known = new Set(TRAINING_FORM_FIELDS.map((f) => f.name));
  const other = Object.entries(errors).filter(([field]) => !known.has(field));
  return html`<form class="card" id="new-training" method="post" action="/trainings">
  <h2>New training</h2>
  ${other.map(([field, message]) => html`<p class="error" role="alert" id="${field}-error">${field}: ${message}</p>`)}
  ${main.map((f) => fieldHtml(f, values, errors))}
  <details id="more"${moreHasError ? html` open` : ""}><summary>More</summary>
  ${more.map((f) => fieldHtml(f, values, errors))}
  </details>
  <button type="submit">Create training</button>
</form>`;
}
