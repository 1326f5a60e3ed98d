import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { QoelabError } from "../errors.ts";
import { labDown } from "./lab.ts";
import { run } from "./run.ts";
import { ShaperClient, startShaperDaemon } from "./shaperd.ts";
import { parseShaperRequest } from "./shaperd-protocol.ts";

const dir = mkdtempSync(join(tmpdir(), "qoelab-shaperd-"));
const socketPath = join(dir, "shaperd.sock");
const labName = `sd${process.pid % 100000}`;
let daemon: Awaited<ReturnType<typeof startShaperDaemon>>;
let client: ShaperClient;

before(async () => {
  daemon = await startShaperDaemon({ socketPath, captureDir: join(dir, "captures") });
  client = await ShaperClient.connect(socketPath);
});
after(async () => {
  client?.close();
  await daemon?.close();
  await labDown(labName).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const refused = (line: string, pattern: RegExp) =>
  assert.throws(
    () => parseShaperRequest(line),
    (e: unknown) => e instanceof QoelabError && e.code === "SHAPERD_BAD_REQUEST" && pattern.test(e.message),
  );

test("anything outside the closed command set is refused, naming what is wrong", () => {
  refused('{"id":1,"op":"exec","args":{"cmd":"rm -rf /"}}', /unknown op "exec"/);
  refused('{"id":1,"op":"lab.down","args":{"name":"a; rm -rf /"}}', /name must be a lab name/);
  refused('{"id":1,"op":"lab.down","args":{"name":"lab","shell":"sh"}}', /unknown argument "shell"/);
  refused('{"id":1,"op":"shape","args":{"lab":"lab","link":"router:client-side","rateBits":-5}}', /rateBits must be/);
  refused('{"id":1,"op":"shape","args":{"lab":"lab","link":"eth0","rateBits":1000000}}', /link must be/);
  refused(
    '{"id":1,"op":"capture.start","args":{"lab":"lab","host":"client","file":"../../etc/passwd.pcap","snaplen":96}}',
    /file must be a plain file name/,
  );
  refused(
    '{"id":1,"op":"capture.start","args":{"lab":"lab","host":"client","file":"a.pcap","snaplen":96,"filter":"tcp `reboot`"}}',
    /filter must be/,
  );
  refused("not json", /not JSON/);
  refused('{"id":1,"op":"ping","args":{},"extra":1}', /unknown request key/);
  assert.equal(parseShaperRequest('{"id":7,"op":"ping"}').id, 7);
});

test("the daemon answers a refused request with its code and stays up", async () => {
  await assert.rejects(client.callRaw('{"id":1,"op":"exec","args":{}}'), (e: unknown) => {
    assert.ok(e instanceof QoelabError);
    assert.equal(e.code, "SHAPERD_BAD_REQUEST");
    return true;
  });
  assert.deepEqual(await client.call("ping"), { pong: true });
});

test("lab, shaping and capture through the daemon", async () => {
  await client.call("lab.up", { name: labName, router: true });
  await client.call("shape", { lab: labName, link: "router:client-side", rateBits: 2_000_000 });
  const qdisc = await run(["tc", "qdisc", "show", "dev", `${labName}-rc`], { netns: `qoelab-${labName}-router` });
  assert.match(qdisc.stdout, /tbf .*rate 2Mbit/);
  const started = (await client.call("capture.start", {
    lab: labName,
    host: "client",
    file: "probe.pcap",
    snaplen: 96,
    filter: "icmp",
  })) as { id: number; file: string };
  const ping = await run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.130"], {
    netns: `qoelab-${labName}-client`,
  });
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  const stopped = (await client.call("capture.stop", { id: started.id })) as { packets: number };
  assert.equal(stopped.packets, 6, "3 echo requests and 3 replies");
  assert.ok(statSync(started.file).size > 24);
  await client.call("shape.clear", { lab: labName, link: "router:client-side" });
  await client.call("lab.down", { name: labName });
});
