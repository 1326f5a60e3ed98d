import type { SessionRow, TrainingProgress, TrainingRow } from "../collect/index.ts";
import { html, page, raw } from "./html.ts";
import { lineChart } from "./svg-chart.ts";

const STATUS_TEXT: Record<number, string> = { [-1]: "not captured", 0: "under capturing", 1: "captured" };

function progressBar(p: TrainingProgress) {
  const pct = (n: number) => (p.total ? (100 * n) / p.total : 0).toFixed(1);
  return html`<div class="bar" aria-label="progress"><span style="width:${pct(p.captured)}%;background:#0a7d32"></span><span style="width:${pct(p.capturing)}%;background:#e0a000"></span><span style="width:${pct(p.failed)}%;background:#b00020"></span></div>`;
}

function eta(seconds: number | null): string {
  if (seconds === null) return "–";
  if (seconds <= 0) return "done";
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m} min ${seconds % 60} s` : `${seconds} s`;
}

export function trainingListPage(rows: ReadonlyArray<{ training: TrainingRow; progress: TrainingProgress }>): string {
  return page(
    "Trainings",
    html`<h1>Trainings</h1><p><a class="button" href="/trainings/new">New training</a></p>
<table id="trainings"><thead><tr><th>#</th><th>Name</th><th>Created</th><th>Videos</th><th>Limits (Mbit/s)</th><th>Duration (s)</th><th>State</th><th>Progress</th></tr></thead><tbody>
${rows.map(
  ({ training: t, progress: p }) =>
    html`<tr><td class="num">${t.id}</td><td><a href="/trainings/${t.id}">${t.name}</a></td><td>${new Date(t.created_at).toISOString().slice(0, 16).replace("T", " ")}</td><td class="num">${t.number_of_videos}</td><td>${t.bw_limitations.join(", ")}</td><td class="num">${t.session_duration}</td><td>${t.state}</td><td>${p.captured}/${p.total}</td></tr>`,
)}
</tbody></table>${rows.length === 0 ? html`<p>No training yet.</p>` : ""}`,
  );
}

export function trainingDetailPage(training: TrainingRow, progress: TrainingProgress, sessions: readonly SessionRow[]) {
  const t = training;
  return page(
    t.name,
    html`<h1>${t.name}</h1>
<div class="card" id="progress" data-training="${t.id}">
  <div class="grid">
    <div class="metric">State<b id="state">${t.state}</b></div>
    <div class="metric">Captured<b id="captured">${progress.captured}/${progress.total}</b></div>
    <div class="metric">Under capturing<b id="capturing">${progress.capturing}</b></div>
    <div class="metric">Not captured<b id="not-captured">${progress.notCaptured}</b></div>
    <div class="metric">Failed<b id="failed">${progress.failed}</b></div>
    <div class="metric">ETA<b id="eta">${eta(progress.etaSeconds)}</b></div>
  </div>
  <p>Current session: <span id="current">${progress.current ? `${progress.current.name} (${progress.current.bw_limitation} Mbit/s)` : "none"}</span></p>
  ${progressBar(progress)}
</div>
<p>${t.number_of_videos} videos × ${t.session_duration} s (+${t.warmup} s warm-up) × limits ${t.bw_limitations.join(", ")} Mbit/s · source ${t.source} · seed ${t.seed} · ${t.slots} slot(s) · played by ${t.driver === "person" ? "a person (the worker leaves it alone)" : "the collection worker"}</p>
<p id="exports"><a class="button" href="/api/trainings/${t.id}/export?format=csv" download>Export CSV</a>
<a class="button" href="/api/trainings/${t.id}/export?format=json" download>Export JSON</a>
<a class="button" href="/api/trainings/${t.id}/export?format=parquet" download>Export Parquet</a>
<a class="button" href="/api/trainings/${t.id}/pcaps.tar" download>Captures (tar)</a>
<a class="button" href="/trainings/${t.id}/classify">Classify</a>
<a class="button" id="play-yourself" href="/player?training=${t.id}">Play it yourself</a></p>
<table id="sessions"><thead><tr><th>Session</th><th>Limit (Mbit/s)</th><th>Status</th><th>Attempts</th><th>Stalls</th><th>Capture</th><th>Error</th></tr></thead><tbody>
${sessions.map((s) => {
  const labels = (s.labels ?? {}) as { stall_count?: number };
  return html`<tr class="session" data-status="${s.status}"><td><a href="/sessions/${s.id}">${s.name}</a></td><td class="num">${s.bw_limitation}</td><td class="status-${s.status}">${STATUS_TEXT[s.status]}</td><td class="num">${s.attempts}</td><td class="num">${labels.stall_count ?? ""}</td><td class="num">${s.capture_size ? `${(s.capture_size / 1e6).toFixed(2)} MB` : ""}</td><td>${s.error_reason ?? ""}</td></tr>`;
})}
</tbody></table>
<script>
(function(){var id=${raw(String(t.id))};function eta(s){if(s===null)return"–";if(s<=0)return"done";var m=Math.floor(s/60);return m>0?m+" min "+(s%60)+" s":s+" s";}
function tick(){fetch("/api/trainings/"+id).then(function(r){return r.json()}).then(function(d){var p=d.progress;
document.getElementById("state").textContent=d.training.state;document.getElementById("captured").textContent=p.captured+"/"+p.total;
document.getElementById("capturing").textContent=p.capturing;document.getElementById("not-captured").textContent=p.notCaptured;
document.getElementById("failed").textContent=p.failed;document.getElementById("eta").textContent=eta(p.etaSeconds);
document.getElementById("current").textContent=p.current?p.current.name+" ("+p.current.bw_limitation+" Mbit/s)":"none";
if(!d.training.has_finished)setTimeout(tick,2000);else if(document.querySelectorAll("tr.session[data-status='1']").length!==p.captured)location.reload();}).catch(function(){setTimeout(tick,5000)});}
setTimeout(tick,2000);})();
</script>`,
  );
}

interface PlayerSample {
  t: number;
  height?: number;
  bitrate?: number;
  buffer?: number;
  bandwidthEstimate?: number;
}

export function sessionDetailPage(session: SessionRow): string {
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
<p>Training <a href="/trainings/${session.training_id}">#${session.training_id}</a> · limit ${session.bw_limitation} Mbit/s · ${STATUS_TEXT[session.status]} · attempts ${session.attempts}${session.error_reason ? ` · last error: ${session.error_reason}` : ""}</p>
<p>${session.url ? html`Video: <code>${session.url}</code>` : ""}</p>
<div class="card" id="timeline">${raw(
      lineChart({
        title: "Player timeline (stalls shaded)",
        xLabel: "time since recording start (s)",
        yLabel: "resolution (lines) / buffer (s)",
        series: [
          {
            name: "resolution (p)",
            color: "#2858c9",
            step: true,
            points: samples.filter((s) => s.height !== undefined).map((s) => [s.t, s.height ?? 0] as const),
          },
          {
            name: "buffer ×100 (s)",
            color: "#0a7d32",
            points: samples.filter((s) => s.buffer !== undefined).map((s) => [s.t, (s.buffer ?? 0) * 100] as const),
          },
        ],
        bands,
      }),
    )}</div>
<div class="card" id="bitrate">${raw(
      lineChart({
        title: "Bitrate and bandwidth estimate",
        xLabel: "time (s)",
        yLabel: "Mbit/s",
        series: [
          {
            name: "level bitrate",
            color: "#2858c9",
            step: true,
            points: samples.filter((s) => s.bitrate !== undefined).map((s) => [s.t, (s.bitrate ?? 0) / 1e6] as const),
          },
          {
            name: "hls.js estimate",
            color: "#8a4bd6",
            points: samples
              .filter((s) => s.bandwidthEstimate !== undefined)
              .map((s) => [s.t, (s.bandwidthEstimate ?? 0) / 1e6] as const),
          },
        ],
        bands,
      }),
    )}</div>
<div class="card" id="throughput">${raw(
      lineChart({
        title: "Downstream throughput from the capture (1 s windows)",
        xLabel: "time (s)",
        yLabel: "Mbit/s",
        series: [{ name: "throughput", color: "#b26b00", points: throughput }],
      }),
    )}</div>
<h2>Labels</h2><pre id="labels">${JSON.stringify(labels, null, 2)}</pre>
<h2>Application data</h2><details><summary>JSON</summary><pre>${JSON.stringify(session.application_data, null, 2)}</pre></details>`,
  );
}
