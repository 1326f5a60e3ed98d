import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isQoelabError } from "../../errors.ts";
import { getLab, labDown, labHost, labStatus, labUp, netnsName, run } from "../index.ts";

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

/*
 * "The internet" for uplink tests: a namespace of this test joined to the root namespace by a veth,
 * 10.77.254.4k/30 (root .4k+1, namespace .4k+2). Lab traffic forwarded by the host ends there and
 * nowhere else: every uplink in these tests allows only this address.
 */
const INET_SLOT = process.pid % 64;
const inet = {
  netns: `qoelab-t${process.pid}-inet`,
  rootIface: `qi${process.pid}a`,
  nsIface: `qi${process.pid}b`,
  rootAddress: `10.77.254.${4 * INET_SLOT + 1}`,
  address: `10.77.254.${4 * INET_SLOT + 2}`,
};

function sh(argv: string[]): void {
  const result = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr}`);
}

/** A UDP echo that answers with the address the datagram came from (shows masquerading). */
const SOURCE_ECHO = (host: string) =>
  `const s=require("node:dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(r.address,r.port,r.address));s.bind(7008,"${host}",()=>process.stdout.write("ready\\n"));`;
/** Sends one datagram and prints the answer, or "no answer" after 1.5 s. */
const ASK = (to: string) =>
  `const s=require("node:dgram").createSocket("udp4");s.on("message",(m)=>{process.stdout.write(m.toString());process.exit(0)});s.send("who",7008,"${to}");setTimeout(()=>{process.stdout.write("no answer");process.exit(0)},1500);`;

function uplinkRules(lab: string): string[] {
  const dump = spawnSync("iptables-save", [], { encoding: "utf8" }).stdout;
  return dump.split("\n").filter((l) => l.includes(`qoelab-uplink:${lab}`));
}

before(() => {
  sh(["ip", "netns", "add", inet.netns]);
  sh(["ip", "link", "add", inet.rootIface, "type", "veth", "peer", "name", inet.nsIface, "netns", inet.netns]);
  sh(["ip", "addr", "add", `${inet.rootAddress}/30`, "dev", inet.rootIface]);
  sh(["ip", "link", "set", inet.rootIface, "up"]);
  sh(["ip", "-n", inet.netns, "addr", "add", `${inet.address}/30`, "dev", inet.nsIface]);
  sh(["ip", "-n", inet.netns, "link", "set", inet.nsIface, "up"]);
  sh(["ip", "-n", inet.netns, "link", "set", "lo", "up"]);
});

after(async () => {
  for (const name of made) await labDown(name).catch(() => undefined);
  spawnSync("ip", ["link", "del", inet.rootIface]);
  spawnSync("ip", ["netns", "del", inet.netns]);
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

  it("an uplink: the client reaches past the host (forwarded, masqueraded, only where allowed), the host reaches the lab", async () => {
    const name = uniqueName();
    const forwardingBefore = spawnSync("sysctl", ["-n", "net.ipv4.ip_forward"], { encoding: "utf8" }).stdout.trim();
    const lab = await labUp({ name, router: true, uplink: { allow: [inet.address] } });
    const uplink = lab.uplink;
    assert.ok(uplink);
    assert.match(lab.config.subnet, /^10\.77\.(1[2-9]\d)\.0\/24$/, "an uplink lab gets a /24 of its own");
    assert.match(uplink.hostAddress, /^10\.77\.255\.\d+$/);
    assert.equal(uplinkRules(name).length, 3, "forward (both ways) and masquerade rules on the host");
    const server = spawn("ip", ["netns", "exec", inet.netns, process.execPath, "-e", SOURCE_ECHO(inet.address)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const hostEcho = spawn(process.execPath, ["-e", SOURCE_ECHO(inet.rootAddress)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const labEcho = lab.hosts.server.spawn([process.execPath, "-e", ECHO_SERVER], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      for (const child of [server, hostEcho, labEcho])
        await new Promise<void>((resolve) => child.stdout?.once("data", () => resolve()));
      // Client → router → host → "the internet": it sees the host's address, not the lab's.
      const reply = await lab.hosts.client.exec([process.execPath, "-e", ASK(inet.address)]);
      assert.equal(reply.stdout, inet.rootAddress);
      // A destination that is not allowed is refused on the router (the host would have answered).
      const refused = await lab.hosts.client.exec([process.execPath, "-e", ASK(inet.rootAddress)]);
      assert.equal(refused.stdout, "no answer");
      const counters = await labHost(lab, "router").exec(["iptables", "-n", "-v", "-x", "-L", "FORWARD"]);
      const reject = counters.stdout.split("\n").find((l) => l.includes("REJECT"));
      assert.ok(Number(reject?.trim().split(/\s+/)[0]) > 0, counters.stdout);
      // The host reaches the lab's server through the router (a person's browser does this).
      const back = await run([process.execPath, "-e", ECHO_CLIENT(lab.hosts.server.address)]);
      assert.match(back.stdout, /^hello-\d+$/);
    } finally {
      for (const child of [server, hostEcho, labEcho]) child.kill();
    }
    await labDown(name);
    assert.notEqual(spawnSync("ip", ["link", "show", "dev", uplink.hostIface]).status, 0, "host end removed");
    assert.equal(spawnSync("ip", ["route", "show", lab.config.subnet], { encoding: "utf8" }).stdout.trim(), "");
    assert.deepEqual(uplinkRules(name), []);
    const forwardingLabs = (await labStatus()).filter((l) => l.config.uplink?.forward).length;
    if (forwardingLabs === 0) {
      const after = spawnSync("sysctl", ["-n", "net.ipv4.ip_forward"], { encoding: "utf8" }).stdout.trim();
      assert.equal(after, forwardingBefore, "the host's forwarding switch is back as it was");
    }
  });

  it("uplinks get addresses of their own, clashes are refused, a crashed uplink lab is rebuilt without duplicates", async () => {
    const a = uniqueName();
    const b = uniqueName();
    const labA = await labUp({ name: a, router: true, uplink: { forward: false } });
    const labB = await labUp({ name: b, router: true, uplink: { allow: [inet.address] } });
    assert.notEqual(labA.uplink?.hostAddress, labB.uplink?.hostAddress);
    assert.notEqual(labA.config.subnet, labB.config.subnet);
    assert.deepEqual(uplinkRules(a), [], "a non-forwarding uplink adds no rule on the host");
    assert.deepEqual((await labUp({ name: a, router: true, uplink: { forward: false } })).uplink, labA.uplink);
    await assert.rejects(
      labUp({ name: a, router: true, uplink: true }),
      (e) => isQoelabError(e) && e.code === "LAB_ALREADY_UP",
    );
    await assert.rejects(
      labUp({ name: uniqueName(), router: true, subnet: labA.config.subnet, uplink: true }),
      (e) => isQoelabError(e) && e.code === "LAB_UPLINK_CLASH",
    );
    await assert.rejects(
      labUp({ name: uniqueName(), uplink: true }),
      (e) => isQoelabError(e) && e.code === "LAB_UPLINK_NEEDS_ROUTER",
    );
    spawnSync("ip", ["netns", "del", labB.hosts.router?.netns ?? ""]);
    assert.equal((await labStatus(b))[0]?.state, "broken");
    const rebuilt = await labUp({ name: b, router: true, uplink: { allow: [inet.address] } });
    assert.equal((await labStatus(b))[0]?.state, "up");
    assert.equal(uplinkRules(b).length, 3, "rules are not duplicated");
    const route = await labHost(rebuilt, "router").exec(["ip", "route", "show", "default"]);
    assert.match(route.stdout, new RegExp(`via ${rebuilt.uplink?.hostAddress.replaceAll(".", "\\.")}`));
    await labDown(a);
    await labDown(b);
    assert.deepEqual(uplinkRules(b), []);
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
