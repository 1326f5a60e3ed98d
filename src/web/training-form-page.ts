import type { FieldErrors } from "../collect/index.ts";
import { html, page } from "./html.ts";

function fieldError(errors: FieldErrors, field: string) {
  const message = errors[field];
  return message ? html`<span class="error" id="${field}-error" role="alert">${message}</span>` : "";
}

/** The seed's form: number of videos, session duration, bandwidth limitations (Mbit/s list). */
export function trainingFormPage(values: Record<string, string> = {}, errors: FieldErrors = {}): string {
  const v = (name: string, fallback = "") => values[name] ?? fallback;
  return page(
    "New training",
    html`<h1>New training</h1>
<form class="card" method="post" action="/trainings" novalidate>
  <label for="name">Name <span class="hint">(optional)</span></label>
  <input id="name" name="name" value="${v("name")}">${fieldError(errors, "name")}
  <label for="number_of_videos">Number of videos</label>
  <input id="number_of_videos" name="number_of_videos" inputmode="numeric" value="${v("number_of_videos", "6")}">${fieldError(errors, "number_of_videos")}
  <label for="session_duration">Duration of each session (s)</label>
  <input id="session_duration" name="session_duration" inputmode="numeric" value="${v("session_duration", "60")}">${fieldError(errors, "session_duration")}
  <label for="bw_limitations">Bandwidth limitations (Mbit/s, comma-separated)</label>
  <input id="bw_limitations" name="bw_limitations" placeholder="0.25, 1, 2" value="${v("bw_limitations", "0.25, 1, 2")}">${fieldError(errors, "bw_limitations")}
  <details><summary>More</summary>
  <label for="delay_ms">Added delay on the downstream (ms) <span class="hint">(0 = none; the link emulator where the kernel has no netem)</span></label>
  <input id="delay_ms" name="delay_ms" inputmode="decimal" value="${v("delay_ms", "0")}">${fieldError(errors, "delay_ms")}
  <label for="loss_percent">Random loss on the downstream (%)</label>
  <input id="loss_percent" name="loss_percent" inputmode="decimal" value="${v("loss_percent", "0")}">${fieldError(errors, "loss_percent")}
  <label for="warmup">Warm-up before recording (s)</label>
  <input id="warmup" name="warmup" inputmode="numeric" value="${v("warmup", "20")}">${fieldError(errors, "warmup")}
  <label for="source">Video source</label>
  <select id="source" name="source">
    ${["local", "twitch", "urls"].map((s) => html`<option value="${s}"${v("source", "local") === s ? html` selected` : ""}>${s === "local" ? "built-in local origin" : s === "twitch" ? "Twitch top live channels" : "a list of HLS URLs"}</option>`)}
  </select>${fieldError(errors, "source")}
  <label for="urls">HLS URLs <span class="hint">(for “a list of HLS URLs”)</span></label>
  <input id="urls" name="urls" value="${v("urls")}">${fieldError(errors, "urls")}
  <label for="driver">Who plays the videos</label>
  <select id="driver" name="driver">
    ${["worker", "person"].map((d) => html`<option value="${d}"${v("driver", "worker") === d ? html` selected` : ""}>${d === "worker" ? "the collection worker (headless chromium in the lab)" : "a person, in a browser on this host (open the player page)"}</option>`)}
  </select>${fieldError(errors, "driver")}
  <label for="seed">Seed</label>
  <input id="seed" name="seed" inputmode="numeric" value="${v("seed", "1")}">${fieldError(errors, "seed")}
  <label for="slots">Lab slots in parallel</label>
  <input id="slots" name="slots" inputmode="numeric" value="${v("slots", "1")}">${fieldError(errors, "slots")}
  <label for="max_attempts">Attempts per session</label>
  <input id="max_attempts" name="max_attempts" inputmode="numeric" value="${v("max_attempts", "3")}">${fieldError(errors, "max_attempts")}
  </details>
  <button type="submit">Create training</button>
</form>`,
  );
}
