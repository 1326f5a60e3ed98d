// `npm run arch`: the import rules of docs/architecture.md, checked on every import under src/.
//  (a) a folder imports only the folders listed for it in ALLOWED (arrows point down; the list is
//      checked to have no cycle), tests and test-support files included;
//  (b) another folder is entered only through an index.ts (the folder's, or one of its
//      sub-folders'); tests may also import another folder's test-support files;
//  (c) only src/e2e/ (end-to-end tests) may import every folder;
//  (d) browser code (`*.browser.ts`, bundled for pages) imports only the browser scripts of its folder,
//      packages (never `node:`) and, type-only, the page-data files of src/render/ (`*-data.ts`: the
//      JSON shapes a page reads, interfaces and types only, importing nothing); no other file imports
//      browser code: the server serves it by path;
//  (e) markup is drawn in src/render/ only: outside it (tests, test support and browser code aside) no
//      string holds a closing tag, `<svg` or `<!doctype`. Domains return data; render draws it.
// Exits 1 and lists every violation; prints a one-line summary when clean.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** Files at the top of src/ and the toolbox folder: leaves that every folder may import. */
const LEAVES: Record<string, readonly string[]> = {
  "errors.ts": [],
  "chromium.ts": ["errors.ts"],
  common: [],
};

/** What each folder may import, besides itself and the leaves. Keep in step with docs/architecture.md. */
export const ALLOWED: Record<string, readonly string[]> = {
  packet: [],
  audio: [],
  db: [],
  capture: ["packet"],
  generator: ["packet", "audio", "capture"],
  netlab: ["generator", "capture", "packet"],
  flows: ["packet", "capture", "netlab"],
  net: ["packet", "netlab"],
  quality: ["audio", "db", "generator"],
  voip: ["packet", "audio", "capture", "generator", "netlab", "quality"],
  collect: ["netlab", "capture", "flows", "generator", "db", "packet"],
  ml: ["collect", "flows", "packet", "db"],
  fuzz: ["packet", "flows", "voip"],
  render: ["collect", "ml", "quality", "voip"],
  web: ["render", "collect", "ml", "quality", "db", "audio"],
  cli: [
    "web",
    "render",
    "collect",
    "ml",
    "quality",
    "voip",
    "fuzz",
    "flows",
    "net",
    "netlab",
    "generator",
    "capture",
    "audio",
    "packet",
    "db",
  ],
};

/**
 * Files known to break the rules while another change is under way, each with where it goes. They are
 * printed as warnings, not failures; the list only shrinks.
 */
const PENDING: Record<string, string> = {};

/** The one folder of end-to-end tests: it alone may import every folder. */
export const E2E = "e2e";

/** The one folder that draws (HTML, SVG, text diagrams); no domain imports it (ALLOWED lists it for web and cli). */
export const RENDER = "render";

/** What a markup builder's strings hold: a closing tag, an SVG root or a document type. */
const MARKUP = /<\/[a-z][a-z0-9-]*>|<svg\b|<!doctype\b/i;

export interface Violation {
  file: string;
  specifier: string;
  rule: "upward" | "index-bypass" | "unknown-folder" | "leaf" | "browser" | "markup";
  message: string;
}

const isTestFile = (rel: string) => rel.endsWith(".test.ts") || /(^|\/)test-support(\/|\.ts$)/.test(rel);

/** For browser code (`*.browser.ts`, a leaf of its own): the browser scripts of its folder it may import. */
const browserScopeOf = (rel: string) =>
  rel.endsWith(".browser.ts") ? `${rel.slice(0, rel.lastIndexOf("/") + 1)}*.browser.ts` : undefined;

/** A page-data file: the JSON shapes a page's script shares with render/ (types only, no imports). */
const isPageData = (rel: string) => rel.startsWith(`${RENDER}/`) && rel.endsWith("-data.ts");

/** The import declarations of a browser script that bring in types only (`import type …`). */
function typeOnlyImports(path: string, text: string): Set<string> {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  const specifiers = new Set<string>();
  for (const statement of source.statements)
    if (
      ts.isImportDeclaration(statement) &&
      statement.importClause?.isTypeOnly === true &&
      ts.isStringLiteral(statement.moduleSpecifier)
    )
      specifiers.add(statement.moduleSpecifier.text);
  return specifiers;
}

/** What makes a page-data file more than types: any import, or a statement that is not an interface or type. */
function pageDataProblems(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  return source.statements
    .filter((s) => !ts.isInterfaceDeclaration(s) && !ts.isTypeAliasDeclaration(s))
    .map((s) => text.slice(s.getStart(source), s.getEnd()).split("\n")[0] ?? "");
}

/** The top-level unit a path under src/ belongs to: a folder name or a top-level file name. */
const unitOf = (rel: string) => rel.split("/")[0] ?? rel;

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (/\.(ts|mts|tsx)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) yield path;
  }
}

/** Every folder reachable from `from` through ALLOWED (a folder may import what its imports may). */
function cycleIn(allowed: Record<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 2) return undefined;
    if (state.get(node) === 1) return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 1);
    stack.push(node);
    for (const next of allowed[node] ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 2);
    return undefined;
  };
  for (const node of Object.keys(allowed)) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

export function checkImports(srcDir: string): Violation[] {
  const violations: Violation[] = [];
  for (const path of walk(srcDir)) {
    const rel = relative(srcDir, path).split("\\").join("/");
    const from = unitOf(rel);
    const test = isTestFile(rel);
    const text = readFileSync(path, "utf8");
    const info = ts.preProcessFile(text, true, true);
    const browser = browserScopeOf(rel);
    const typeOnly = browser ? typeOnlyImports(path, text) : new Set<string>();
    if (isPageData(rel))
      for (const statement of pageDataProblems(path, text))
        violations.push({
          file: rel,
          specifier: statement.slice(0, 60),
          rule: "browser",
          message: "a page-data file holds interfaces and types only and imports nothing (browser code shares it)",
        });
    for (const ref of info.importedFiles) {
      const specifier = ref.fileName;
      const add = (rule: Violation["rule"], message: string) =>
        violations.push({ file: rel, specifier, rule, message });
      if (browser && specifier.startsWith("node:")) add("browser", "browser code runs in a page: no node: modules");
      if (!specifier.startsWith(".")) continue;
      const target = relative(srcDir, resolve(dirname(path), specifier))
        .split("\\")
        .join("/");
      // (d): browser code and the server's code meet only through the served bundle and page-data types
      if (browser && isPageData(target)) {
        if (!typeOnly.has(specifier)) add("browser", `import the page data's types with \`import type\` (${target})`);
        continue;
      }
      if (browser !== browserScopeOf(target)) {
        if (browser) add("browser", `browser code imports only src/${browser} (here ${target})`);
        else add("browser", `src/${target} is browser code: serve it (common/browser-bundle.ts), do not import it`);
        continue;
      }
      if (browser) continue;
      const to = unitOf(target);
      if (to === from || target.startsWith("..")) continue;
      // (a)/(c): may this folder import that one at all?
      if (from in LEAVES) {
        if (!LEAVES[from]!.includes(to)) add("leaf", `${from} is a leaf and imports nothing of ours (here ${to})`);
      } else if (from === E2E) {
        // end-to-end tests may import every folder
      } else if (!(from in ALLOWED)) {
        add(
          "unknown-folder",
          `src/${from} is not listed in scripts/check-arch.ts (ALLOWED) nor in docs/architecture.md`,
        );
        continue;
      } else if (!(to in LEAVES) && !ALLOWED[from]!.includes(to)) {
        const where = test ? "a test" : "code";
        const hint = test ? `; an end-to-end test belongs in src/${E2E}/` : "";
        add("upward", `${where} in ${from} imports ${to}, which ${from} may not import${hint}`);
      }
      // (b): through the folder's surface only
      if (to in LEAVES && !to.endsWith(".ts")) {
        if (!target.endsWith("/index.ts")) add("index-bypass", `import src/${to}/index.ts, not ${target}`);
        continue;
      }
      if (to.endsWith(".ts")) continue;
      const viaIndex = target.endsWith("/index.ts") && !/(^|\/)test-support\//.test(target);
      const viaTestSupport = /(^|\/)test-support(\/|\.ts$)/.test(target);
      if (viaTestSupport && !test) add("index-bypass", `code imports test support ${target}`);
      else if (!viaIndex && !viaTestSupport)
        add("index-bypass", `import src/${to}/index.ts (or a sub-folder's index.ts), not ${target}`);
    }
  }
  return violations;
}

/** (e): the string literals (template parts included) outside render/ that hold markup. */
export function checkMarkup(srcDir: string): Violation[] {
  const violations: Violation[] = [];
  for (const path of walk(srcDir)) {
    const rel = relative(srcDir, path).split("\\").join("/");
    if (unitOf(rel) === RENDER || isTestFile(rel) || browserScopeOf(rel)) continue;
    const text = readFileSync(path, "utf8");
    if (!MARKUP.test(text)) continue; // most files: no need to parse
    const visit = (node: ts.Node): void => {
      if ((ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) && MARKUP.test(node.text)) {
        violations.push({
          file: rel,
          specifier: node.text.slice(0, 60),
          rule: "markup",
          message: `markup is drawn in src/${RENDER}/: return the data and let render draw it`,
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true));
  }
  return violations;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const cycle = cycleIn(ALLOWED);
  if (cycle) {
    console.error(`arch: the allowed imports form a cycle: ${cycle.join(" → ")}`);
    process.exit(1);
  }
  const srcDir = resolve(dirname(new URL(import.meta.url).pathname), "..", "src");
  const all = [...checkImports(srcDir), ...checkMarkup(srcDir)];
  const violations = all.filter((v) => !(v.file in PENDING));
  for (const v of all.filter((v) => v.file in PENDING))
    console.warn(`pending (${PENDING[v.file]}): ${v.rule}: src/${v.file}: "${v.specifier}"`);
  for (const v of violations) console.error(`${v.rule}: src/${v.file}: "${v.specifier}": ${v.message}`);
  const counts = new Map<string, number>();
  for (const v of violations) counts.set(v.rule, (counts.get(v.rule) ?? 0) + 1);
  if (violations.length > 0) {
    console.error(
      `arch: ${violations.length} import(s) break docs/architecture.md's rules (${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")})`,
    );
    process.exit(1);
  }
  console.log("arch: every import under src/ follows docs/architecture.md");
}
