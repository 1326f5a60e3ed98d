import type { ListeningOverview, ListeningTest, RatingScale } from "../quality/listening/index.ts";
import { html, type PageNav, page, raw } from "./html.ts";
import { barChart } from "./svg-charts.ts";

const LISTEN_STYLE = `<style>
.scores{display:flex;flex-direction:column;gap:.3rem;max-width:26rem;margin-top:.6rem}.scores button{margin:0;text-align:left}
button:disabled{background:#aab3c2;cursor:not-allowed}#listen-error{color:#b00020;font-weight:600}
.progress{height:10px;background:#e3e6ea;border-radius:5px;overflow:hidden;margin:.3rem 0 1rem}.progress span{display:block;height:100%;background:#2858c9}
tr.excluded td{color:#b00020}
</style>`;

function fmt(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

export function listeningListPage(tests: readonly ListeningTest[], nav: PageNav = "full"): string {
  return page(
    "Listening tests",
    html`<h1>Listening tests</h1>
<table id="tests"><tr><th>#</th><th>Name</th><th>Method</th><th>Created</th><th>Source</th><th></th></tr>
${tests.map(
  (t) =>
    html`<tr><td>${t.id}</td><td><a href="/listen/${t.id}">${t.name}</a></td><td>${t.method.toUpperCase()}</td><td>${t.createdAt.slice(0, 16).replace("T", " ")}</td><td>${t.source ?? ""}</td><td><a href="/listen/${t.id}/admin">admin</a></td></tr>`,
)}</table>
<p class="hint">Create tests with <code>qoelab listen create</code>.</p>`,
    { nav },
  );
}

function instructions(test: ListeningTest, scale: RatingScale) {
  const dcr = test.method !== "acr";
  return html`<div class="card" id="instructions"><h2>Instructions</h2>
<p>Please use headphones in a quiet room. ${dcr ? "Each trial plays a reference (A) and then a sample (B)." : "Each trial plays one short speech sample."}
You can rate a sample only after it has played to the end. First comes a short hearing check, then
a few training samples that show the range of quality, then the test itself.</p>
<p>${scale.question}:</p><ul>${scale.options.map((o) => html`<li><b>${o.score}</b> – ${o.label}</li>`)}</ul>
<p class="hint">Some samples check your attention: if a voice asks you to choose a particular answer, choose it.</p></div>`;
}

export function listeningStartPage(
  test: ListeningTest,
  scale: RatingScale,
  suggestedRater: string,
  nav: PageNav = "full",
): string {
  return page(
    test.name,
    html`<h1>${test.name}</h1>${instructions(test, scale)}
<form class="card" method="get" action="/listen/${test.id}/r"><label for="rater">Your participant id</label>
<input id="rater" name="rater" value="${suggestedRater}" pattern="[A-Za-z0-9._\\-]{1,64}" required>
<span class="hint">Use the same id to come back later; you continue where you stopped.</span><br>
<button type="submit" id="start">Start</button></form>`,
    { nav },
  );
}

export function listeningRaterPage(
  test: ListeningTest,
  scale: RatingScale,
  rater: string,
  nav: PageNav = "full",
): string {
  return page(
    `${test.name} · ${rater}`,
    html`${raw(LISTEN_STYLE)}<h1>${test.name}</h1>
<div id="listen-app" data-api="/api/listen/tests/${test.id}/raters/${rater}" data-stage="loading">
<p><span id="listen-progress">Loading…</span> · participant <code>${rater}</code></p>
<div class="progress"><span id="listen-bar" style="width:0%"></span></div>
<p id="listen-error" hidden></p><div id="listen-view"></div></div>
<details>${instructions(test, scale)}</details>`,
    { scripts: ["/assets/listening.js"], nav },
  );
}

export function conditionChart(overview: ListeningOverview): string {
  const { stats } = overview;
  const categories = stats.all.conditions.map((c) => c.condition);
  const screened = new Map(stats.screened.conditions.map((c) => [c.condition, c]));
  const all = stats.all.conditions;
  const scale = stats.method === "ccr" ? { min: -3, max: 3 } : { min: 1, max: 5 };
  // A mean of one rating is no opinion score and has no interval: such conditions get no bar.
  const rated = (c: { n: number; mos: number } | undefined) => (c && c.n >= 2 ? c.mos : null);
  const interval = (c: { n: number; ci95: number | null } | undefined) => (c && c.n >= 2 ? c.ci95 : null);
  return barChart({
    title: `${stats.meanName} per condition with 95 % CI (conditions with at least 2 ratings)`,
    yLabel: stats.meanName,
    categories,
    yMin: stats.method === "ccr" ? scale.min : 0,
    yMax: scale.max,
    groups: [
      {
        name: "screened",
        values: categories.map((c) => rated(screened.get(c))),
        ci: categories.map((c) => interval(screened.get(c))),
      },
      { name: "all raters", values: all.map((c) => rated(c)), ci: all.map((c) => interval(c)) },
    ],
  });
}

export function listeningAdminPage(overview: ListeningOverview, nav: PageNav = "full"): string {
  const { test, stats } = overview;
  const screening = new Map(stats.raters.map((r) => [r.rater, r]));
  const screened = new Map(stats.screened.conditions.map((c) => [c.condition, c]));
  const finished = overview.raters.filter((r) => r.finishedAt).length;
  return page(
    `${test.name} · admin`,
    html`${raw(LISTEN_STYLE)}<h1>${test.name} <span class="hint">${test.method.toUpperCase()} · test #${test.id}</span></h1>
<div class="grid"><div class="metric"><b id="m-raters">${overview.raters.length}</b>raters</div>
<div class="metric"><b id="m-finished">${finished}</b>finished</div>
<div class="metric"><b id="m-excluded">${stats.raters.filter((r) => r.excluded).length}</b>excluded</div>
<div class="metric"><b>${overview.clips}</b>test clips</div></div>
<p><a class="button" href="/api/listen/tests/${test.id}/ratings.csv">Ratings CSV</a> <a class="button" href="/listen/${test.id}">Rater link</a></p>
<div class="card" id="chart">${raw(conditionChart(overview))}</div>
<h2>${stats.meanName} per condition</h2>
<table id="conditions"><tr><th>Condition</th><th>n</th><th>${stats.meanName}</th><th>std</th><th>95 % CI ±</th><th>n (all)</th><th>${stats.meanName} (all)</th><th>95 % CI ± (all)</th></tr>
${stats.all.conditions.map((c) => {
  const s = screened.get(c.condition);
  return html`<tr data-condition="${c.condition}"><td>${c.condition}</td><td class="num">${s?.n ?? 0}</td><td class="num">${fmt(s?.mos)}</td><td class="num">${fmt(s?.std)}</td><td class="num">${fmt(s?.ci95)}</td><td class="num">${c.n}</td><td class="num">${fmt(c.mos)}</td><td class="num">${fmt(c.ci95)}</td></tr>`;
})}</table>
<h2>Raters</h2>
<table id="raters"><tr><th>Rater</th><th>Started</th><th>Finished</th><th>Hearing</th><th>Rated</th><th>r</th><th>Screening</th></tr>
${overview.raters.map((r) => {
  const s = screening.get(r.rater);
  return html`<tr class="${s?.excluded ? "excluded" : ""}" data-rater="${r.rater}"><td>${r.rater}</td><td>${r.startedAt.slice(0, 19).replace("T", " ")}</td><td>${r.finishedAt ? r.finishedAt.slice(0, 19).replace("T", " ") : ""}</td><td>${r.hearing}</td><td class="num">${r.rated} / ${r.total}</td><td class="num">${fmt(s?.correlation)}</td><td>${s?.excluded ? `excluded: ${s.reasons.join("; ")}` : s?.outlier ? `flagged: ${s.reasons.join("; ")}` : "kept"}</td></tr>`;
})}</table>
<h2>Screening rules</h2><ul>${stats.rules.map((rule) => html`<li>${rule}</li>`)}</ul>`,
    { nav },
  );
}
