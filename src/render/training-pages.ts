import type { FieldErrors, SessionRow, TrainingImpairment, TrainingProgress, TrainingRow } from "../collect/index.ts";
import { html, page, raw } from "./html.ts";
import { xyChart } from "./svg-charts.ts";
import { type FormValues, trainingForm } from "./training-form-page.ts";
import { type LiveSession, STATUS_TEXT, type TrainingLive } from "./training-live-view.ts";

function progressBar(bar: TrainingLive["bar"]) {
  return html`<div class="bar" id="bar" role="progressbar" aria-label="progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${bar.captured}"><span id="bar-captured" style="width:${bar.captured}%;background:#0a7d32"></span><span id="bar-capturing" style="width:${bar.capturing}%;background:#e0a000"></span><span id="bar-failed" style="width:${bar.failed}%;background:#b00020"></span></div>`;
}

function trainingsTable(rows: ReadonlyArray<{ training: TrainingRow; progress: TrainingProgress }>) {
  return html`<h2>Trainings</h2>
<table id="trainings"><thead><tr><th>#</th><th>Name</th><th>Created</th><th>Videos</th><th>Limits (Mbit/s)</th><th>Duration (s)</th><th>State</th><th>Progress</th></tr></thead><tbody>
${rows.map(
  ({ training: t, progress: p }) =>
    html`<tr><td class="num">${t.id}</td><td><a href="/trainings/${t.id}">${t.name}</a></td><td>${new Date(t.created_at).toISOString().slice(0, 16).replace("T", " ")}</td><td class="num">${t.number_of_videos}</td><td>${t.bw_limitations.join(", ")}</td><td class="num">${t.session_duration}</td><td>${t.state}</td><td>${p.captured}/${p.total}</td></tr>`,
)}
</tbody></table>${rows.length === 0 ? html`<p>No training yet.</p>` : ""}`;
}

/** The home page: the seed's form on top, the trainings below it. */
export function homePage(
  rows: ReadonlyArray<{ training: TrainingRow; progress: TrainingProgress }>,
  form: { values?: FormValues; errors?: FieldErrors } = {},
): string {
  return page("Trainings", html`${trainingForm(form.values, form.errors)}${trainingsTable(rows)}`);
}

function sessionRow(s: LiveSession) {
  return html`<tr class="session" data-id="${s.id}" data-status="${s.status}"><td><a href="/sessions/${s.id}">${s.name}</a></td><td class="num">${s.bw_limitation}</td><td class="status status-${s.status}">${s.status_text}</td><td class="num attempts">${s.attempts}</td><td class="num stalls">${s.stalls ?? ""}</td><td class="num">${s.capture_mb !== null ? `${s.capture_mb.toFixed(2)} MB` : ""}</td><td class="error-reason">${s.error ?? ""}</td></tr>`;
}

/**
 * A training's page. Everything that changes while it runs (counters, bar, estimate, session
 * table) is drawn from a TrainingLive and redrawn from /api/trainings/:id/live every 1.5 s by the
 * page's script, /assets/training-live.js.
 */
/** Rounds for display (a probability × 100 must not print as 2.0000000000000004). */
const shown = (value: number) => Number(value.toPrecision(6));

/**
 * The link a training's sessions play under besides their limits: the traces and their scale, the
 * added delay, loss and queue (what `impairmentOf` read from the stored training).
 */
export function linkConditionsText(traces: readonly string[], impairment: TrainingImpairment): string {
  const parts: string[] = [];
  if (traces.length > 0)
    parts.push(
      `traces ${traces.join(", ")} ${impairment.traceScale !== undefined ? `× ${shown(impairment.traceScale)}` : "as recorded"}`,
    );
  if (impairment.delay !== undefined) parts.push(`delay ${shown(impairment.delay * 1000)} ms`);
  if (impairment.loss !== undefined) parts.push(`loss ${shown(impairment.loss * 100)} %`);
  if (impairment.limit !== undefined) parts.push(`queue ${impairment.limit} packets`);
  return parts.length > 0 ? parts.join(" · ") : "no trace, delay or loss added";
}

/** `impairment`: the training's stored link conditions (collect's `impairmentOf`). */
export function trainingDetailPage(training: TrainingRow, live: TrainingLive, impairment: TrainingImpairment = {}) {
  const t = training;
  const p = live.progress;
  return page(
    t.name,
    html`<h1>${t.name}</h1>
<div class="card" id="progress" data-training="${t.id}">
  <div class="grid">
    <div class="metric">State<b id="state">${live.training.state}</b></div>
    <div class="metric">Captured<b id="captured">${p.captured}/${p.total}</b></div>
    <div class="metric">Under capturing<b id="capturing">${p.capturing}</b></div>
    <div class="metric">Not captured<b id="not-captured">${p.notCaptured}</b></div>
    <div class="metric">Failed<b id="failed">${p.failed}</b></div>
    <div class="metric">Time left<b id="eta">${live.estimate.text}</b><span class="hint" id="eta-basis">${live.estimate.basis}</span></div>
  </div>
  <p>Current session: <span id="current">${live.current ?? "none"}</span></p>
  <p class="hint" id="origin-build">${live.origin ?? ""}</p>
  ${progressBar(live.bar)}
</div>
<p>${t.number_of_videos} videos × ${t.session_duration} s (+${t.warmup} s warm-up) × limits ${t.bw_limitations.join(", ")} Mbit/s · source ${t.source} · seed ${t.seed} · ${t.slots} slot(s) · played by ${t.driver === "person" ? "a person (the worker leaves it alone)" : "the collection worker"}</p>
<p id="link-conditions">Link: ${linkConditionsText(t.traces, impairment)}</p>
<p id="exports"><a class="button" href="/api/trainings/${t.id}/export?format=csv" download>Export CSV</a>
<a class="button" href="/api/trainings/${t.id}/export?format=json" download>Export JSON</a>
<a class="button" href="/api/trainings/${t.id}/export?format=parquet" download>Export Parquet</a>
<a class="button" href="/api/trainings/${t.id}/export?table=flows&amp;format=csv" download>Flows CSV</a>
<a class="button" href="/api/trainings/${t.id}/export?table=flows&amp;format=parquet" download>Flows Parquet</a>
<a class="button" href="/api/trainings/${t.id}/pcaps.tar" download>Captures (tar)</a>
<a class="button" href="/trainings/${t.id}/classify">Classify</a>
<a class="button" id="play-yourself" href="/player?training=${t.id}">Play it yourself</a></p>
<table id="sessions"><thead><tr><th>Session</th><th>Limit (Mbit/s)</th><th>Status</th><th>Attempts</th><th>Stalls</th><th>Capture</th><th>Error</th></tr></thead><tbody>
${live.sessions.map(sessionRow)}
</tbody></table>
<p class="hint" id="live-state">${live.training.has_finished ? "finished" : "live: updates every 1.5 s"}</p>`,
    // The poller (web/training-live.browser.ts) reads the training from #progress's data-training.
    { scripts: ["/assets/training-live.js"] },
  );
}

interface PlayerSample {
  t: number;
  height?: number;
  bitrate?: number;
  buffer?: number;
  bandwidthEstimate?: number;
}

/** A session line's delay, loss and queue (its trace and scale are said beside the trace). */
function linkExtras(impairment: TrainingImpairment): string {
  const { traceScale: _scale, ...extras } = impairment;
  return Object.keys(extras).length > 0 ? ` · ${linkConditionsText([], extras)}` : "";
}

/** `impairment`: its training's stored link conditions (collect's `impairmentOf`). */
export function sessionDetailPage(session: SessionRow, impairment: TrainingImpairment = {}): string {
  const app = (session.application_data ?? {}) as {
    samples?: PlayerSample[];
    stalls?: Array<{ start: number; duration: number }>;
    startupTime?: number;
  };
  const network = (session.network_data ?? {}) as { series?: { window?: number; bytes?: number[]; start?: number } };
  const samples = app.samples ?? [];
  const stalls = app.stalls ?? [];
  const bands = stalls.map((s) => ({
    from: s.start,
    to: s.start + s.duration,
    color: "#d33",
    label: `stall ${s.duration.toFixed(2)} s`,
  }));
  const throughput: Array<[number, number]> = [];
  const series = network.series;
  if (series?.bytes) {
    const w = series.window ?? 1;
    series.bytes.forEach((b, i) => {
      throughput.push([i * w, (b * 8) / w / 1e6]);
    });
  }
  const labels = session.labels ?? {};
  return page(
    session.name,
    html`<h1>Session ${session.name}</h1>
<p>Training <a href="/trainings/${session.training_id}">#${session.training_id}</a> · ${session.trace ? `trace ${session.trace}${impairment.traceScale !== undefined ? ` × ${shown(impairment.traceScale)}` : ""} from ${session.trace_offset_s} s (mean ${session.bw_limitation} Mbit/s)` : `limit ${session.bw_limitation} Mbit/s`}${linkExtras(impairment)} · ${STATUS_TEXT[session.status]} · attempts ${session.attempts}${session.error_reason ? ` · last error: ${session.error_reason}` : ""}</p>
<p>${session.url ? html`Video: <code>${session.url}</code>` : ""}</p>
<div class="card" id="timeline">${raw(
      xyChart({
        title: "Player timeline (stalls shaded)",
        xLabel: "time since recording start (s)",
        yLabel: "resolution (lines) / buffer (s)",
        series: [
          {
            name: "resolution (p)",
            color: "#2858c9",
            markers: false,
            step: true,
            points: samples.filter((s) => s.height !== undefined).map((s) => [s.t, s.height ?? 0] as const),
          },
          {
            name: "buffer ×100 (s)",
            color: "#0a7d32",
            markers: false,
            points: samples.filter((s) => s.buffer !== undefined).map((s) => [s.t, (s.buffer ?? 0) * 100] as const),
          },
        ],
        bands,
      }),
    )}</div>
<div class="card" id="bitrate">${raw(
      xyChart({
        title: "Bitrate and bandwidth estimate",
        xLabel: "time (s)",
        yLabel: "Mbit/s",
        series: [
          {
            name: "level bitrate",
            color: "#2858c9",
            markers: false,
            step: true,
            points: samples.filter((s) => s.bitrate !== undefined).map((s) => [s.t, (s.bitrate ?? 0) / 1e6] as const),
          },
          {
            name: "hls.js estimate",
            color: "#8a4bd6",
            markers: false,
            points: samples
              .filter((s) => s.bandwidthEstimate !== undefined)
              .map((s) => [s.t, (s.bandwidthEstimate ?? 0) / 1e6] as const),
          },
        ],
        bands,
      }),
    )}</div>
<div class="card" id="throughput">${raw(
      xyChart({
        title: "Downstream throughput from the capture (1 s windows)",
        xLabel: "time (s)",
        yLabel: "Mbit/s",
        series: [{ name: "throughput", color: "#b26b00", markers: false, points: throughput }],
      }),
    )}</div>${raw(traceCard(session))}
<h2>Labels</h2><pre id="labels">${JSON.stringify(labels, null, 2)}</pre>
<h2>Application data</h2><details><summary>JSON</summary><pre>${JSON.stringify(session.application_data, null, 2)}</pre></details>`,
  );
}

/** A trace session's link: the trace's offered rate beside what the emulator delivered, per second. */
function traceCard(session: SessionRow): string {
  const link = (session.network_data as { link?: Record<string, unknown> } | null)?.link;
  if (!link || !Array.isArray(link.offered_mbps)) return "";
  const start = Number(link.record_start_s ?? 0);
  const points = (values: unknown) =>
    Array.isArray(values) ? (values as number[]).map((v, k) => [k - start, v] as const) : [];
  return `<div class="card" id="trace">${xyChart({
    title: `Trace ${String(link.trace)} from ${String(link.offset_s)} s: offered and delivered (1 s, emulator's log)`,
    xLabel: "time since recording start (s)",
    yLabel: "Mbit/s",
    series: [
      { name: "trace offers", color: "#777", markers: false, step: true, points: points(link.offered_mbps) },
      { name: "link delivered", color: "#b26b00", markers: false, points: points(link.delivered_mbps) },
    ],
  })}</div>`;
}
