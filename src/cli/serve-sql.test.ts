import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import { freePort } from "./test-support/free-port.ts";
import { qoelabArgv, runQoelab } from "./test-support/run-qoelab.ts";

const scratch = mkdtempSync(join(tmpdir(), `qoelab-serve-sql-${process.pid}-`));
let server: ChildProcess | undefined;
after(() => {
  server?.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

/** Resolves with stdout once it matches `pattern`; rejects when the process exits first. */
function waitFor(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) resolve(out);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("exit", (code) => reject(new Error(`serve exited (${code}) before ${pattern}: ${out}${err}`)));
  });
}

describe("qoelab serve on PGlite", () => {
  it("serves the embedded database to SQL clients: a training made with the home page's form is in web_training and web_session", async () => {
    const [webPort, dbPort] = [await freePort(), await freePort()];
    server = spawn(
      process.execPath,
      qoelabArgv([
        "serve",
        "--port",
        String(webPort),
        "--db-port",
        String(dbPort),
        "--data-dir",
        join(scratch, "data"),
        "--no-collect",
      ]),
      { env: { ...process.env, DATABASE_URL: "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const banner = await waitFor(server, /SQL on .*\n/);
    assert.match(banner, new RegExp(`psql -h 127\\.0\\.0\\.1 -p ${dbPort} -U postgres postgres`));
    const web = `http://127.0.0.1:${webPort}`;

    // The home page's form, posted as a browser would.
    const home = await (await fetch(`${web}/`)).text();
    const form = /<form[^>]*id="new-training"[^>]*>/.exec(home)?.[0] ?? "";
    const action = /action="([^"]+)"/.exec(form)?.[1];
    assert.ok(action, "the home page has the new-training form");
    const fields = { name: "from the form", number_of_videos: "4", session_duration: "12", bw_limitations: "0.25, 1" };
    const posted = await fetch(new URL(action, web), {
      method: "POST",
      body: new URLSearchParams(fields),
      redirect: "manual",
    });
    assert.equal(posted.status, 303, await posted.text());
    const id = Number(/\/trainings\/(\d+)$/.exec(posted.headers.get("location") ?? "")?.[1]);
    assert.ok(id > 0);

    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${dbPort}/postgres` });
    await client.connect();
    try {
      const training = (await client.query("SELECT * FROM web_training WHERE id = $1", [id])).rows[0];
      assert.equal(training.name, "from the form");
      assert.equal(training.number_of_videos, 4);
      assert.equal(training.bw_limitations, "0.25,1");
      assert.equal(training.session_duration, 12);
      assert.equal(training.has_finished, false);
      const sessions = (
        await client.query(
          "SELECT name, training_id, status, bw_limitation, application_data FROM web_session WHERE training_id = $1",
          [id],
        )
      ).rows;
      assert.equal(sessions.length, 4);
      assert.deepEqual(sessions.map((s) => s.bw_limitation).sort(), [0.25, 0.25, 1, 1], "limits equally represented");
      assert.ok(sessions.every((s) => s.status === -1 && s.application_data === null && s.training_id === id));
    } finally {
      await client.end();
    }

    // `qoelab db query` reaches the same data through the running server's SQL port.
    const query = runQoelab(
      [
        "db",
        "query",
        "SELECT name FROM web_training",
        "--json",
        "--db-port",
        String(dbPort),
        "--data-dir",
        join(scratch, "elsewhere"),
      ],
      { env: { ...process.env, DATABASE_URL: "" } },
    );
    assert.equal(query.status, 0, query.stderr);
    assert.deepEqual(JSON.parse(query.stdout), [{ name: "from the form" }]);

    const exited = new Promise<number | null>((resolve) => server?.once("exit", (code) => resolve(code)));
    server.kill("SIGTERM");
    assert.equal(await exited, 0);
    server = undefined;
  });
});
