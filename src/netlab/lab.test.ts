import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isQoelabError } from "../errors.ts";
import { getLab, labDown, labHost, labStatus, labUp, netnsName } from "./index.ts";

let counter = 0;
const made: string[] = [];
function uniqueName(): string {
  const name = `t${(process.pid % 100000).toString(36)}${(counter++).toString(36)}`;
  made.push(name);
  return name;
}

function namespaces(): string[] {
  const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
  return out.split("\n").map((l) => l.split(" ")[0] ?? "");
}

/** A UDP echo across the lab: the server echoes one datagram, the client waits for it. */
const ECHO_SERVER = `const s=require("node:dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(m,r.port,r.address,()=>s.close()));s.bind(7007,()=>process.stdout.write("ready\\n"));`;
const ECHO_CLIENT = (to: string) =>
  `const s=require("node:dgram").createSocket("udp4");s.on("message",(m)=>{process.stdout.write(m.toString());s.close()});s.send("hello-"+process.pid,7007,"${to}");setTimeout(()=>process.exit(3),5000).unref();`;

after(async () => {
  for (const name of made) await labDown(name).catch(() => undefined);
});

describe("lab hosts", () => {
  it("is idempotent, reports status and tears down every namespace", async () => {
    const name = uniqueName();
    const lab = await labUp({ name, router: true, ipv6: true });
    const again = await labUp({ name, router: true, ipv6: true });
    assert.deepEqual(again.links, lab.links);
    const [status] = await labStatus(name);
    assert.equal(status?.state, "up");
    assert.deepEqual(
      status?.namespaces.map((n) => n.present),
      [true, true, true],
    );
    const addr = await lab.hosts.client.exec(["ip", "-6", "-br", "addr", "show", "dev", lab.hosts.client.iface]);
    assert.match(addr.stdout, /fd00:77:0:1::2\/64/);
    assert.doesNotMatch(addr.stdout, /tentative/);
    assert.equal((await labDown(name)).removed, true);
    assert.equal((await labDown(name)).removed, false);
    for (const host of ["client", "router", "server"] as const)
      assert.ok(!namespaces().includes(netnsName(name, host)));
  });

  it("forwards across the router (UDP echo client → server)", async () => {
    const name = uniqueName();
    const lab = await labUp({ name, router: true });
    const server = lab.hosts.server.spawn([process.execPath, "-e", ECHO_SERVER], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      await new Promise<void>((resolve) => server.stdout?.once("data", () => resolve()));
      const reply = await lab.hosts.client.exec([process.execPath, "-e", ECHO_CLIENT(lab.hosts.server.address)]);
      assert.equal(reply.code, 0);
      assert.match(reply.stdout, /^hello-\d+$/);
      const ttl = await labHost(lab, "router").exec(["sysctl", "-n", "net.ipv4.ip_forward"]);
      assert.equal(ttl.stdout.trim(), "1");
    } finally {
      server.kill();
      await labDown(name);
    }
  });

  it("refuses a lab that is up with a different config, with a coded error", async () => {
    const name = uniqueName();
    await labUp({ name });
    await assert.rejects(labUp({ name, router: true }), (e) => isQoelabError(e) && e.code === "LAB_ALREADY_UP");
    // The lab that was up is untouched.
    assert.equal((await getLab(name)).config.router, false);
    await labDown(name);
  });

  it("cleans a crashed run's leftovers and recreates the lab", async () => {
    const name = uniqueName();
    const lab = await labUp({ name, router: true });
    // Simulate a crash mid-way: one namespace gone, the state still says "up".
    spawnSync("ip", ["netns", "del", lab.hosts.router?.netns ?? ""]);
    const [broken] = await labStatus(name);
    assert.equal(broken?.state, "broken");
    await assert.rejects(getLab(name), (e) => isQoelabError(e) && e.code === "LAB_NOT_UP");
    const again = await labUp({ name, router: true });
    const [status] = await labStatus(name);
    assert.equal(status?.state, "up");
    const route = await again.hosts.client.exec(["ip", "route", "show", "default"]);
    assert.match(route.stdout, /via 10\.77\.0\.1/);
    await labDown(name);
  });

  it("never touches a namespace it did not create", async () => {
    const name = uniqueName();
    const foreign = netnsName(name, "client");
    spawnSync("ip", ["netns", "add", foreign]);
    try {
      await assert.rejects(labUp({ name }), (e) => isQoelabError(e) && e.code === "LAB_NAMESPACE_EXISTS");
      assert.ok(namespaces().includes(foreign));
      assert.ok(!namespaces().includes(netnsName(name, "server")));
    } finally {
      spawnSync("ip", ["netns", "del", foreign]);
    }
  });

  it("names a missing tool and its package", async () => {
    const name = uniqueName();
    const empty = mkdtempSync(join(tmpdir(), "qoelab-nopath-"));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      await assert.rejects(
        labUp({ name }),
        (e) => isQoelabError(e) && e.code === "NETLAB_TOOL_MISSING" && /iproute2/.test(e.message),
      );
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
    assert.equal((await labStatus(name)).length, 0);
  });

  it("rejects bad names and subnets outside 10.77.0.0/16", async () => {
    await assert.rejects(labUp({ name: "Bad-Name" }), (e) => isQoelabError(e) && e.code === "LAB_BAD_NAME");
    await assert.rejects(
      labUp({ name: uniqueName(), subnet: "192.168.1.0/24" }),
      (e) => isQoelabError(e) && e.code === "LAB_BAD_SUBNET",
    );
  });

  it("wires the CLI (lab up/status/down exit codes)", () => {
    const name = uniqueName();
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8" });
    assert.equal(cli(["lab", "up", "--name", name]).status, 0);
    const status = cli(["lab", "status", "--name", name, "--json"]);
    assert.equal(status.status, 0);
    assert.equal(JSON.parse(status.stdout)[0].state, "up");
    assert.equal(cli(["lab", "up", "--name", name, "--router"]).status, 1);
    assert.equal(cli(["lab", "down", "--name", name]).status, 0);
  });
});
