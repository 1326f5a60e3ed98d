import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { listSessions } from "../collect/index.ts";
import { openTestDb } from "../db/test-support/test-db.ts";
import { createApp } from "./app.ts";

// The training and session pages say what link the sessions played under: the traces as recorded
// or scaled, and the training's delay and loss (stored once with the training).
describe("training and session pages show the link conditions", () => {
  const opened = openTestDb("pglite");
  after(async () => (await opened).drop());

  const create = async (fields: Record<string, string>) => {
    const app = createApp({ db: await opened });
    const response = await app.request("/trainings", {
      method: "POST",
      body: new URLSearchParams({ number_of_videos: "2", session_duration: "20", ...fields }),
    });
    assert.equal(response.status, 303, await response.text());
    const location = response.headers.get("location") ?? "";
    const id = Number(location.split("/").pop());
    return { app, page: await (await app.request(location)).text(), id };
  };

  test("scaled traces with delay and loss: on the training page and on each trace session's page", async () => {
    const { app, page, id } = await create({
      bw_limitations: "",
      traces: "fcc-amazon-797466, Verizon-EVDO-driving.down",
      trace_scale: "0.3",
      delay_ms: "80",
      loss_percent: "2",
    });
    assert.match(
      page,
      /<p id="link-conditions">Link: traces fcc-amazon-797466, Verizon-EVDO-driving\.down × 0\.3 · delay 80 ms · loss 2 %<\/p>/,
    );
    const sessions = await listSessions(await opened, id);
    assert.equal(sessions.length, 2);
    for (const session of sessions) {
      const text = await (await app.request(`/sessions/${session.id}`)).text();
      assert.ok(session.trace !== null);
      assert.ok(
        text.includes(
          `trace ${session.trace} × 0.3 from ${session.trace_offset_s} s (mean ${session.bw_limitation} Mbit/s) · delay 80 ms · loss 2 %`,
        ),
        text,
      );
    }
  });

  test("constant limits alone say that nothing else was added", async () => {
    const { app, page, id } = await create({ bw_limitations: "1, 2" });
    assert.match(page, /<p id="link-conditions">Link: no trace, delay or loss added<\/p>/);
    const [session] = await listSessions(await opened, id);
    assert.ok(session !== undefined);
    const text = await (await app.request(`/sessions/${session.id}`)).text();
    const line = text.match(/<p>Training <a[\s\S]*?<\/p>/)?.[0] ?? "";
    assert.match(line, new RegExp(`limit ${session.bw_limitation} Mbit/s · `));
    assert.doesNotMatch(line, /delay|loss|×/);
  });

  test("traces as recorded are said so", async () => {
    const { page } = await create({ bw_limitations: "", traces: "fcc-amazon-797466" });
    assert.match(page, /Link: traces fcc-amazon-797466 as recorded</);
  });
});
