import { escapeMarkup } from "../common/index.ts";
/** Minimal server-side HTML helpers: every interpolated value is escaped unless wrapped in `raw`. */
export class RawHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

export function raw(html: string): RawHtml {
  return new RawHtml(html);
}

export const escapeHtml: (value: unknown) => string = escapeMarkup;

type Value = RawHtml | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value instanceof RawHtml) return value.html;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(value);
}

/** Tagged template: `html\`<p>${userText}</p>\`` escapes userText. */
export function html(strings: TemplateStringsArray, ...values: Value[]): RawHtml {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? "");
  });
  return new RawHtml(out);
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#fff;text-decoration:none}header strong{font-size:1.1rem}
main{max-width:1100px;margin:1.2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:.35rem .6rem;border-bottom:1px solid #e3e6ea;text-align:left}
th{background:#eef0f3;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
form.card,.card{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:1rem;margin-bottom:1rem}
label{display:block;font-weight:600;margin-top:.6rem}input,select{font:inherit;padding:.3rem .4rem;width:18rem;max-width:100%}
.error{color:#b00020;font-weight:normal;margin-left:.5rem}.hint{color:#667;font-weight:normal;font-size:.9em}
button,.button{font:inherit;background:#2858c9;color:#fff;border:0;border-radius:4px;padding:.45rem .9rem;margin-top:.8rem;cursor:pointer;text-decoration:none;display:inline-block}
.status-1{color:#0a7d32}.status-0{color:#b26b00}.status--1{color:#667}
.bar{height:14px;background:#e3e6ea;border-radius:7px;overflow:hidden;display:flex}.bar span{display:block;height:100%}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:.6rem}.metric{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:.6rem}
.metric b{display:block;font-size:1.3rem}
`;

/** Which pages the header links to: the whole web app, or only the listening tests (`qoelab listen serve`). */
export type PageNav = "full" | "listening";

const NAV_LINKS: Record<PageNav, string> = {
  full: '<a href="/">Trainings</a><a href="/#new-training">New training</a><a href="/listen">Listening tests</a>',
  listening: '<a href="/listen">Listening tests</a>',
};

export function page(title: string, body: RawHtml, options: { scripts?: string[]; nav?: PageNav } = {}): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · qoelab</title><style>${STYLE}</style></head><body>
<header><strong><a href="/">qoelab</a></strong>${NAV_LINKS[options.nav ?? "full"]}</header>
<main>${body.html}</main>${(options.scripts ?? []).map((src) => `<script src="${escapeHtml(src)}"></script>`).join("")}</body></html>`;
}

/** The page of an error a page route answered with (its message escaped), linking back to `back`. */
export function errorPage(status: number, message: string, back = { href: "/", text: "Back" }): string {
  return `<!doctype html><title>Error</title><h1>${status}</h1><p id="error-message">${escapeHtml(message)}</p><p><a href="${escapeHtml(back.href)}">${escapeHtml(back.text)}</a></p>`;
}

export const NOT_FOUND_PAGE = "<!doctype html><title>Not found</title><h1>404</h1><p>No such page.</p>";
