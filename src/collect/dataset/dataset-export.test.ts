import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { openTestDb } from "../../db/test-support/test-db.ts";
import { analyzeCaptureFile } from "../../flows/index.ts";
import { validateTrainingRequest } from "../training/training-request.ts";
import { completeSession, createTraining, listSessions } from "../training/training-store.ts";
import { exportTraining } from "./dataset-export.ts";
import { sessionNetworkData } from "./session-features.ts";

const fixtures = new URL("../../../test-data/collect", import.meta.url).pathname;
const captures = ["held-out-0.3mbps-session-24", "held-out-4mbps-session-29"];
const dataDir = "/srv/qoelab-data";

/** Each column's physical type and its converted (logical) type, from the file's own schema. */
async function readBack(bytes: Uint8Array) {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(file);
  const types = Object.fromEntries(
    parquetSchema(metadata).children.map((c) => [c.element.name, [c.element.type, c.element.converted_type ?? null]]),
  );
  const rows = (await parquetReadObjects({ file, metadata })) as Record<string, unknown>[];
  return { types, rows };
}

describe("dataset exports", () => {
  const opened = openTestDb("pglite");
  let trainingId = 0;
  const flowsPerSession: number[] = [];
  before(async () => {
    const db = await opened;
    const request = validateTrainingRequest({
      name: "exports",
      number_of_videos: "2",
      session_duration: "20",
      bw_limitations: "0.3, 4",
    });
    assert.ok(request.ok);
    trainingId = (await createTraining(db, request.value)).id;
    const sessions = await listSessions(db, trainingId);
    for (const [i, session] of sessions.entries()) {
      const name = captures[i] ?? "";
      const pcap = join(fixtures, `${name}.pcap`);
      await db.query("UPDATE session SET status = 0, started_at = now(), attempts = 1 WHERE id = $1", [session.id]);
      const networkData = await sessionNetworkData(pcap, undefined);
      flowsPerSession.push((networkData.flows as unknown[]).length);
      await completeSession(db, session.id, {
        url: "http://10.77.0.2/life/index.m3u8",
        channel: "life",
        applicationData: {},
        networkData,
        labels: JSON.parse(readFileSync(join(fixtures, `${name}.labels.json`), "utf8")).labels,
        captureFile: join(dataDir, "captures", `training-${trainingId}`, `session-${session.id}.pcap`),
        captureSize: readFileSync(pcap).length,
      });
    }
  });
  after(async () => (await opened).drop());

  it("Parquet columns are typed: INT32/INT64 integers, DOUBLE, BOOLEAN, TIMESTAMP, UTF8 text", async () => {
    const file = await exportTraining(await opened, trainingId, "parquet", { dataDir });
    const { types, rows } = await readBack(file.body as Uint8Array);
    assert.deepEqual(types.session_id, ["INT32", null]);
    assert.deepEqual(types.status, ["INT32", null]);
    assert.deepEqual(types.capture_size_bytes, ["INT64", null]);
    assert.deepEqual(types.bw_limitation_mbps, ["DOUBLE", null]);
    assert.deepEqual(types.started_at, ["INT64", "TIMESTAMP_MILLIS"]);
    assert.deepEqual(types.label_stalled, ["BOOLEAN", null]);
    assert.deepEqual(types.label_stall_count, ["INT64", null]);
    assert.deepEqual(types.label_stall_ratio, ["DOUBLE", null]);
    assert.deepEqual(types.label_qoe_class, ["BYTE_ARRAY", "UTF8"]);
    assert.equal(rows.length, 2);
    const first = rows[0] ?? {};
    assert.ok(first.started_at instanceof Date, "timestamps read back as dates");
    assert.equal(first.label_stalled, true);
    assert.equal(first.label_stall_count, 4n);
    assert.equal(first.capture_size_bytes, BigInt(readFileSync(join(fixtures, `${captures[0]}.pcap`)).length));
    // capture_file relative to the data directory, as the tar of captures and the folder hold it.
    assert.equal(first.capture_file, join("captures", `training-${trainingId}`, `session-${first.session_id}.pcap`));
  });

  it("the flows table has one row per flow with tstat's log_tcp_complete columns and the session id", async () => {
    const db = await opened;
    const csv = (await exportTraining(db, trainingId, "csv", { flows: true })).body as string;
    const [header, ...lines] = csv.trimEnd().split("\n");
    const columns = (header ?? "").split(",");
    assert.deepEqual(columns.slice(0, 7), ["session_id", "session_name", "proto", "c_ip", "c_port", "s_ip", "s_port"]);
    for (const tstat of ["c_pkts_all", "s_bytes_uniq[B]", "c_rst_cnt", "s_ack_cnt"])
      assert.ok(columns.includes(tstat), tstat);
    const expected = await Promise.all(
      captures.map(async (name) => (await analyzeCaptureFile(join(fixtures, `${name}.pcap`))).flows.length),
    );
    assert.deepEqual(flowsPerSession, expected);
    assert.equal(lines.length, expected[0]! + expected[1]!);

    const parquet = await exportTraining(db, trainingId, "parquet", { flows: true });
    assert.equal(parquet.filename, `qoelab-training-${trainingId}-flows.parquet`);
    const { types, rows } = await readBack(parquet.body as Uint8Array);
    assert.equal(rows.length, lines.length);
    assert.deepEqual(types.session_id, ["INT32", null]);
    assert.deepEqual(types.c_port, ["INT64", null]);
    assert.deepEqual(types.c_ip, ["BYTE_ARRAY", "UTF8"]);
    assert.deepEqual(types["s_bytes_uniq[B]"], ["INT64", null]);
    const sessions = await listSessions(db, trainingId);
    const bySession = new Map<unknown, number>();
    for (const row of rows) bySession.set(row.session_id, (bySession.get(row.session_id) ?? 0) + 1);
    assert.deepEqual(
      sessions.map((s) => bySession.get(s.id)),
      expected,
    );
    await assert.rejects(exportTraining(db, trainingId, "json", { flows: true }), /csv or parquet/);
  });
});
