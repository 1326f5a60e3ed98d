import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { type Db, openSqlTarget, serveDbOverWire } from "../db/index.ts";
import { DATA_DIR_OPTION } from "./common-options.ts";
import { parsePort } from "./option-parsers.ts";
import { formatDelimited, formatTable, printJson } from "./output.ts";

interface DbOptions {
  dataDir: string;
  dbPort: string;
}

/** `--db-port`: 0–65535, as serve's. */
function dbPort(text: string): number {
  return parsePort(text, "--db-port", "db", 0);
}

/** A cell as text: timestamps in ISO 8601, JSON values as JSON, nothing rounded. */
function cellText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function printRows(
  { columns: headers, rows }: { columns: string[]; rows: readonly Record<string, unknown>[] },
  format: "table" | "csv" | "json",
): void {
  if (format === "json") {
    printJson(rows);
    return;
  }
  const cells = rows.map((row) => headers.map((h) => cellText(row[h])));
  if (format === "csv") process.stdout.write(formatDelimited(headers, cells));
  else if (headers.length > 0)
    process.stdout.write(`${formatTable(headers, cells)}\n(${rows.length} row${rows.length === 1 ? "" : "s"})\n`);
  else process.stdout.write("(no rows)\n");
}

/** psql on the target; the embedded database is served on a free loopback port while it runs. */
async function psqlShell(db: Db, url: string | undefined): Promise<number> {
  const wire = url ? undefined : await serveDbOverWire(db, { port: 0 });
  try {
    const child = spawn("psql", [url ?? wire?.url ?? ""], { stdio: "inherit" });
    const ignore = () => undefined; // Ctrl-C is psql's (it cancels a query), not ours
    process.on("SIGINT", ignore);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code) => resolve(code ?? 1));
      });
    } finally {
      process.off("SIGINT", ignore);
    }
  } finally {
    await wire?.close();
  }
}

/** A small prompt when psql is absent: statements end with ";", results print as tables. */
async function builtinShell(db: Db): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "qoelab=> " });
  process.stdout.write('qoelab SQL prompt (no psql here): end statements with ";", quit with \\q or Ctrl-D\n');
  let buffer = "";
  rl.prompt();
  for await (const line of rl) {
    if (buffer === "" && line.trim() === "\\q") break;
    buffer += `${line}\n`;
    if (line.trim().endsWith(";")) {
      try {
        printRows(await db.queryTable(buffer), "table");
      } catch (error) {
        process.stdout.write(`${(error as Error).message}\n`);
      }
      buffer = "";
    }
    rl.setPrompt(buffer === "" ? "qoelab=> " : "qoelab-> ");
    rl.prompt();
  }
  rl.close();
}

export function register(program: Command): void {
  const db = program
    .command("db")
    .description("SQL on qoelab's database: psql or a prompt, one-off queries (web_training, web_session…)");
  const common = (command: Command) =>
    command
      .option(...DATA_DIR_OPTION)
      .option("--db-port <port>", "a running qoelab serve's SQL port, used when it answers", "5433");

  common(
    db
      .command("query")
      .description("run one SQL statement and print its rows (table, --csv or --json)")
      .argument("<sql>", 'e.g. "SELECT * FROM web_training"')
      .option("--json", "rows as a JSON array")
      .option("--csv", "rows as CSV with a header line"),
  ).action(async (sql: string, options: DbOptions & { json?: boolean; csv?: boolean }) => {
    const target = await openSqlTarget({ dataDir: options.dataDir, dbPort: dbPort(options.dbPort) });
    try {
      printRows(await target.db.queryTable(sql), options.json ? "json" : options.csv ? "csv" : "table");
    } finally {
      await target.db.close();
    }
  });

  common(
    db
      .command("shell")
      .description("an interactive SQL shell: psql when installed, else a built-in prompt")
      .option("--builtin", "the built-in prompt even when psql is installed"),
  ).action(async (options: DbOptions & { builtin?: boolean }) => {
    const target = await openSqlTarget({ dataDir: options.dataDir, dbPort: dbPort(options.dbPort) });
    try {
      const hasPsql = !options.builtin && spawnSync("psql", ["--version"], { stdio: "ignore" }).status === 0;
      if (hasPsql) process.exitCode = await psqlShell(target.db, target.url);
      else await builtinShell(target.db);
    } finally {
      await target.db.close();
    }
  });
}
