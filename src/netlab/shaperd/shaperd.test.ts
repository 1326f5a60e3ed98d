import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { QoelabError } from "../../errors.ts";
import { labDown } from "../lab/lab.ts";
import { run } from "../lab/run.ts";
import { ShaperClient, startShaperDaemon } from "./shaperd.ts";
import { parseShaperRequest } from "./shaperd-protocol.ts";

// The daemon serves "nobody": the socket and the captures are that user's. The test connects as
// root (which passes any permission check) and, for the socket's permissions, as other users.
const NOBODY = { uid: 65534, gid: 65534 };
const dir = mkdtempSync(join(tmpdir(), "qoelab-shaperd-"));
chmodSync(dir, 0o755); // other users may reach the socket; its own mode decides who connects
const socketPath = join(dir, "shaperd.sock");
const labName = `sd${process.pid % 100000}`;
let daemon: Awaited<ReturnType<typeof startShaperDaemon>>;
let client: ShaperClient;

before(async () => {
  daemon = await startShaperDaemon({ socketPath, captureDir: join(dir, "captures"), user: NOBODY });
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
const request = (op: string, args: Record<string, unknown>) => JSON.stringify({ id: 1, op, args });

test("anything outside the closed command set is refused, naming what is wrong", () => {
  refused('{"id":1,"op":"exec","args":{"cmd":"rm -rf /"}}', /unknown op "exec"/);
  refused('{"id":1,"op":"lab.down","args":{"name":"a; rm -rf /"}}', /name must be a lab name/);
  refused('{"id":1,"op":"lab.down","args":{"name":"lab","shell":"sh"}}', /unknown argument "shell"/);
  refused('{"id":1,"op":"shape","args":{"lab":"lab","link":"router:client-side","rateBits":-5}}', /rateBits must be/);
  refused('{"id":1,"op":"shape","args":{"lab":"lab","link":"eth0","rateBits":1000000}}', /link must be/);
  refused(
    '{"id":1,"op":"capture.start","args":{"lab":"lab","host":"client","file":"../../etc/passwd.pcap","snaplen":96}}',
    /file must be a path of plain names/,
  );
  refused(
    '{"id":1,"op":"capture.start","args":{"lab":"lab","host":"client","file":"a.pcap","snaplen":96,"filter":"tcp `reboot`"}}',
    /filter must be/,
  );
  refused("not json", /not JSON/);
  refused('{"id":1,"op":"ping","args":{},"extra":1}', /unknown request key/);
  assert.equal(parseShaperRequest('{"id":7,"op":"ping"}').id, 7);
});

test("the collection's ops check every argument too", () => {
  const shape = { lab: "lab", link: "router:client-side", rateBits: 5_000_000 };
  refused(request("shape", { ...shape, delaySeconds: 100 }), /delaySeconds must be a number from 0 to 10/);
  refused(request("shape", { ...shape, delaySeconds: "1; reboot" }), /delaySeconds must be/);
  refused(request("slot.clean", { lab: "../x" }), /lab must be a lab name/);
  const capture = { lab: "lab", host: "client", snaplen: 96 };
  refused(request("capture.start", { ...capture, file: "/var/lib/x/../../../etc/x.pcap" }), /file must be/);
  refused(request("capture.start", { ...capture, file: "training-1/session 1.pcap" }), /file must be/);
  refused(request("capture.start", { ...capture, file: "/etc/passwd" }), /file must be/);
  const origin = { lab: "lab", root: "/home/u/.cache/qoelab/origin/abc", port: 8080 };
  assert.equal(parseShaperRequest(request("origin.start", origin)).request.op, "origin.start");
  refused(request("origin.start", { ...origin, root: "relative/dir" }), /root must be an absolute directory/);
  refused(request("origin.start", { ...origin, root: "/home/u/../../etc" }), /root must be an absolute directory/);
  refused(request("origin.start", { ...origin, root: "/tmp/$(reboot)" }), /root must be an absolute directory/);
  refused(request("origin.start", { ...origin, port: 80 }), /port must be an integer from 1024/);
  refused(request("origin.stop", { lab: "lab", root: "/" }), /unknown argument "root"/);
  const launch = { lab: "lab", forwardTo: "http://127.0.0.1:8000" };
  assert.equal(parseShaperRequest(request("player.launch", launch)).request.op, "player.launch");
  assert.equal(parseShaperRequest(request("player.launch", { ...launch, forwardTo: "http://[::1]:80" })).id, 1);
  for (const forwardTo of [
    "http://10.0.0.1:8000",
    "http://127.0.0.1:8000/admin",
    "http://127.0.0.1.evil.com:80",
    "http://user@127.0.0.1:80",
    "file:///etc/shadow",
    "http://127.0.0.1:99999",
    "http://localhost:8000",
  ])
    refused(request("player.launch", { ...launch, forwardTo }), /forwardTo must be a loopback URL/);
  const runArgs = { id: 1, path: "/player?session=12", timeoutMs: 60_000 };
  assert.equal(parseShaperRequest(request("player.run", runArgs)).request.op, "player.run");
  for (const path of ["http://evil/x", "//evil/x", "/player?session=1#x", "/p'\"<script>", "/a b"])
    refused(request("player.run", { ...runArgs, path }), /path must be a path of the web app/);
  refused(request("player.run", { ...runArgs, timeoutMs: 10 }), /timeoutMs must be/);
  refused(request("player.close", { id: "1" }), /id must be an integer/);
});

test("a capture filter is a pcap-filter expression, never an option of root's tcpdump", () => {
  const capture = { lab: "lab", host: "client", file: "a.pcap", snaplen: 96 };
  for (const filter of [
    "tcp",
    "tcp and net 10.77.128.0/24",
    "udp port 5000 or (icmp and not host 10.0.0.1)",
    "ip6 and host fd00:77::2",
    "tcp portrange 8000-8080",
  ])
    assert.equal(parseShaperRequest(request("capture.start", { ...capture, filter })).request.op, "capture.start");
  for (const filter of [
    "-w/etc/cron.d/x",
    "tcp -w /etc/shadow",
    "-Fetc",
    "tcp; reboot",
    "tcp $(id)",
    "",
    "tcp and `id`",
  ])
    refused(request("capture.start", { ...capture, filter }), /filter must be a pcap-filter expression/);
});

test("uplink ops: a forward flag and an allow list of IPv4 prefixes, nothing else", () => {
  const up = (uplink: unknown) => request("lab.up", { name: "lab", router: true, uplink });
  assert.deepEqual(parseShaperRequest(up({ forward: false })).request.args, {
    name: "lab",
    router: true,
    uplink: { forward: false },
  });
  assert.equal(parseShaperRequest(up({ forward: true, allow: ["198.51.100.0/24", "10.77.252.2"] })).id, 1);
  for (const uplink of [
    true,
    { forward: "yes" },
    { forward: true, allow: "198.51.100.0/24" },
    { forward: true, allow: [] },
    { forward: true, allow: ["256.1.1.1/24"] },
    { forward: true, allow: ["10.0.0.0/33"] },
    { forward: true, allow: ["example.com"] },
    { forward: true, allow: ["10.0.0.0/8 -j ACCEPT"] },
    { forward: true, allow: Array.from({ length: 33 }, (_, i) => `10.0.${i}.0/24`) },
    { forward: true, hostIface: "eth0" },
  ])
    refused(up(uplink), /uplink must be \{ forward: true\|false/);
  assert.equal(
    parseShaperRequest(request("uplink.shape", { lab: "lab", rateBits: 1_000_000 })).request.op,
    "uplink.shape",
  );
  refused(request("uplink.shape", { lab: "lab", rateBits: 1_000_000, link: "eth0" }), /unknown argument "link"/);
  refused(request("uplink.clear", { lab: "a b" }), /lab must be a lab name/);
  const capture = { lab: "lab", file: "training-1/session-2.pcap", snaplen: 128 };
  assert.equal(parseShaperRequest(request("uplink.capture", capture)).request.op, "uplink.capture");
  refused(request("uplink.capture", { ...capture, filter: "tcp" }), /unknown argument "filter"/);
  refused(request("uplink.capture", { ...capture, file: "../x.pcap" }), /file must be/);
  // A training's delay and seeded loss ride along on "shape"; out of range is refused.
  const shape = { lab: "lab", link: "router:client-side", rateBits: 1_000_000 };
  const lossy = parseShaperRequest(request("shape", { ...shape, delaySeconds: 0.05, lossProbability: 0.01, seed: 7 }));
  assert.deepEqual(lossy.request.args, { ...shape, delaySeconds: 0.05, lossProbability: 0.01, seed: 7 });
  refused(request("shape", { ...shape, lossProbability: 1.5 }), /lossProbability/);
  refused(request("shape", { ...shape, seed: -1 }), /seed/);
});

test("the daemon answers a refused request with its code and stays up", async () => {
  await assert.rejects(client.callRaw('{"id":1,"op":"exec","args":{}}'), (e: unknown) => {
    assert.ok(e instanceof QoelabError);
    assert.equal(e.code, "SHAPERD_BAD_REQUEST");
    return true;
  });
  assert.deepEqual(await client.call("ping"), { pong: true, captureDir: daemon.captureDir, ...NOBODY });
});

test("only the served user (and root) can connect: the socket is that user's, mode 0600", () => {
  const stat = statSync(socketPath);
  assert.equal(stat.uid, NOBODY.uid);
  assert.equal(stat.mode & 0o777, 0o600);
  const probe = (uid: number) =>
    spawnSync(
      process.execPath,
      [
        "-e",
        `require("node:net").createConnection(process.argv[1]).on("connect",()=>{console.log("connected");process.exit(0)}).on("error",(e)=>{console.log(e.code);process.exit(0)})`,
        socketPath,
      ],
      { uid, gid: uid, encoding: "utf8" },
    ).stdout.trim();
  assert.equal(probe(NOBODY.uid), "connected");
  assert.equal(probe(12345), "EACCES", "another unprivileged user is refused by the kernel");
});

test("a capture directory another user could write is refused", async () => {
  const unsafe = join(dir, "unsafe");
  mkdirSync(join(unsafe, "captures"), { recursive: true });
  chownSync(unsafe, NOBODY.uid, NOBODY.gid);
  await assert.rejects(
    startShaperDaemon({ socketPath: join(dir, "unsafe.sock"), captureDir: join(unsafe, "captures") }),
    (e: unknown) => e instanceof QoelabError && e.code === "SHAPERD_CAPTURE_DIR_UNSAFE" && /unsafe/.test(e.message),
  );
});

test("a daemon started with --no-forward refuses a forwarding uplink and brings up nothing, ip_forward untouched", async () => {
  const guarded = await startShaperDaemon({
    socketPath: join(dir, "noforward.sock"),
    captureDir: join(dir, "captures"),
    user: NOBODY,
    noForward: true,
  });
  const guardedClient = await ShaperClient.connect(join(dir, "noforward.sock"));
  const forwarding = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
  const name = `nf${process.pid % 100000}`;
  try {
    await assert.rejects(
      guardedClient.call("lab.up", { name, router: true, uplink: { forward: true } }),
      (e: unknown) =>
        e instanceof QoelabError && e.code === "SHAPERD_FORWARD_REFUSED" && /--no-forward/.test(e.message),
    );
    assert.equal(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8"), forwarding);
    const namespaces = (await run(["ip", "netns", "list"])).stdout;
    assert.ok(!namespaces.includes(`qoelab-${name}-`), namespaces);
  } finally {
    guardedClient.close();
    await guarded.close();
    await labDown(name).catch(() => undefined);
  }
});

test("without collection services, origin and player ops answer a coded error", async () => {
  await assert.rejects(
    client.call("player.launch", { lab: labName, forwardTo: "http://127.0.0.1:8000" }),
    (e: unknown) => e instanceof QoelabError && e.code === "SHAPERD_NO_SERVICE",
  );
  await assert.rejects(
    client.call("player.run", { id: 99, path: "/player?session=1", timeoutMs: 5000 }),
    (e: unknown) => e instanceof QoelabError && e.code === "SHAPERD_NO_PLAYER",
  );
});

test("lab, shaping, slot cleaning and capture through the daemon", async () => {
  const up = await client.call("lab.up", { name: labName, router: true });
  assert.equal(up.config.router, true);
  await client.call("shape", { lab: labName, link: "router:client-side", rateBits: 2_000_000 });
  const qdisc = await run(["tc", "qdisc", "show", "dev", `${labName}-rc`], { netns: `qoelab-${labName}-router` });
  assert.match(qdisc.stdout, /tbf .*rate 2Mbit/);

  const leftover = spawn("ip", ["netns", "exec", `qoelab-${labName}-client`, "sleep", "60"], { stdio: "ignore" });
  const gone = new Promise((resolve) => leftover.once("exit", resolve));
  await new Promise((r) => setTimeout(r, 300));
  const cleaned = await client.call("slot.clean", { lab: labName });
  assert.ok(cleaned.killed.includes(leftover.pid!), `killed ${cleaned.killed} includes ${leftover.pid}`);
  await gone;

  await assert.rejects(
    client.call("capture.start", { lab: labName, host: "client", file: "/etc/qoelab-probe.pcap", snaplen: 96 }),
    (e: unknown) => e instanceof QoelabError && e.code === "SHAPERD_PATH_OUTSIDE",
  );
  const started = await client.call("capture.start", {
    lab: labName,
    host: "client",
    file: "training-1/probe.pcap",
    snaplen: 96,
    filter: "icmp",
  });
  assert.equal(started.file, join(daemon.captureDir, "training-1", "probe.pcap"));
  const ping = await run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.130"], {
    netns: `qoelab-${labName}-client`,
  });
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  const stopped = await client.call("capture.stop", { id: started.id });
  assert.equal(stopped.packets, 6, "3 echo requests and 3 replies");
  assert.equal(stopped.diedEarly, undefined);
  const file = statSync(started.file);
  assert.ok(file.size > 24);
  assert.equal(file.uid, NOBODY.uid, "the capture is handed to the served user");
  assert.equal(file.mode & 0o777, 0o640);
  const folder = statSync(join(daemon.captureDir, "training-1"));
  assert.equal(folder.uid, 0, "directories stay root's, so no one can plant a symlink in them");
  assert.equal(folder.mode & 0o022, 0);
  await client.call("shape.clear", { lab: labName, link: "router:client-side" });
  await assert.rejects(
    client.call("uplink.shape", { lab: labName, rateBits: 1_000_000 }),
    (e: unknown) => e instanceof QoelabError && e.code === "LAB_NO_UPLINK",
  );
  await client.call("lab.down", { name: labName });
});

test("a host-only uplink through the daemon: shaped on the router's end, captured on the host's end", async () => {
  const up = await client.call("lab.up", { name: labName, router: true, uplink: { forward: false } });
  assert.equal(up.config.uplink?.forward, false);
  const routerIface = `${labName}-ru`;
  const routerNetns = `qoelab-${labName}-router`;
  const shaped = await client.call("uplink.shape", { lab: labName, rateBits: 3_000_000 });
  assert.match(shaped.applied, new RegExp(`by tbf on ${routerIface}$`));
  const qdisc = await run(["tc", "qdisc", "show", "dev", routerIface], { netns: routerNetns });
  assert.match(qdisc.stdout, /tbf 1: root .*rate 3Mbit/);
  const started = await client.call("uplink.capture", { lab: labName, file: "uplink/probe.pcap", snaplen: 96 });
  // The daemon's filter takes the lab's TCP only: a ping to the router is not captured, a TCP
  // connection attempt to the lab's server is.
  const address = up.config.subnet.replace(/\.0\/24$/, ".130");
  assert.ok(address.startsWith("10.77."), up.config.subnet);
  await run(["ping", "-c", "2", "-i", "0.2", "-W", "2", address]);
  await run(["bash", "-c", `exec 3<>/dev/tcp/${address}/9 || true`]);
  const stopped = await client.call("capture.stop", { id: started.id });
  assert.ok(stopped.packets >= 2, `TCP SYN and RST captured (${stopped.packets}), not the pings`);
  const shown = spawnSync("tshark", ["-r", started.file, "-T", "fields", "-e", "frame.protocols"], {
    encoding: "utf8",
  });
  assert.ok(
    shown.stdout
      .trim()
      .split("\n")
      .every((line) => line.includes(":tcp")),
    shown.stdout,
  );
  await client.call("uplink.clear", { lab: labName });
  const cleared = await run(["tc", "qdisc", "show", "dev", routerIface], { netns: routerNetns });
  assert.doesNotMatch(cleared.stdout, /tbf/);
  await client.call("lab.down", { name: labName });
});
