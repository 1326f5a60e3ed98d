// The training page's poller (served as /assets/training-live.js, bundled by common/browser-bundle.ts):
// every 1.5 s it redraws the counters, the bar, the estimate and the session table from
// /api/trainings/:id/live, until the training has finished. Text goes through textContent only.

import type { LiveSession, TrainingLive } from "../render/training-live-data.ts";

/** The training the page shows: the progress card's data-training. */
const trainingId = document.getElementById("progress")?.dataset.training;

const byId = (id: string) => document.getElementById(id) as HTMLElement;

/** Sets an element's text when it changed (a missing element is left alone). */
function setText(id: string, value: string | number): void {
  const element = document.getElementById(id);
  if (element && element.textContent !== String(value)) element.textContent = String(value);
}

function cell(tr: HTMLTableRowElement, text: string | number, className?: string): HTMLTableCellElement {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = String(text);
  tr.appendChild(td);
  return td;
}

/** A session's row, as render/training-pages.ts draws it. */
function sessionRow(s: LiveSession): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.className = "session";
  tr.dataset.id = String(s.id);
  tr.dataset.status = String(s.status);
  const link = document.createElement("a");
  link.href = `/sessions/${s.id}`;
  link.textContent = s.name;
  const td = document.createElement("td");
  td.appendChild(link);
  tr.appendChild(td);
  cell(tr, s.bw_limitation, "num");
  cell(tr, s.status_text, `status status-${s.status}`);
  cell(tr, s.attempts, "num attempts");
  cell(tr, s.stalls === null ? "" : s.stalls, "num stalls");
  cell(tr, s.capture_mb === null ? "" : `${s.capture_mb.toFixed(2)} MB`, "num");
  cell(tr, s.error || "", "error-reason");
  return tr;
}

function draw(live: TrainingLive): void {
  const p = live.progress;
  setText("state", live.training.state);
  setText("captured", `${p.captured}/${p.total}`);
  setText("capturing", p.capturing);
  setText("not-captured", p.notCaptured);
  setText("failed", p.failed);
  setText("eta", live.estimate.text);
  setText("eta-basis", live.estimate.basis);
  setText("current", live.current || "none");
  setText("origin-build", live.origin || "");
  for (const segment of ["captured", "capturing", "failed"] as const)
    byId(`bar-${segment}`).style.width = `${live.bar[segment]}%`;
  byId("bar").setAttribute("aria-valuenow", String(live.bar.captured));
  (document.querySelector("#sessions tbody") as HTMLElement).replaceChildren(...live.sessions.map(sessionRow));
  setText("live-state", live.training.has_finished ? "finished" : "live: updates every 1.5 s");
}

/** One poll; the next follows in 1.5 s while the training runs, in 5 s after a failed one. */
function tick(): void {
  fetch(`/api/trainings/${trainingId}/live`, { cache: "no-store" })
    .then((response) => {
      if (!response.ok) throw new Error(String(response.status));
      return response.json() as Promise<TrainingLive>;
    })
    .then((live) => {
      draw(live);
      if (!live.training.has_finished) setTimeout(tick, 1500);
    })
    .catch(() => setTimeout(tick, 5000));
}

setTimeout(tick, 1500);
