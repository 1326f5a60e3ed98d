import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ether, icmp, icmpv6, ipv4, ipv6, raw, stack, tcp, udp, vlan } from "./builder.ts";
import { tcpOption } from "./layers/tcp.ts";
import { LinkType } from "./link-type.ts";
import { compareWithTshark, type DecodedCapturePacket, decodeCaptureFile } from "./test-support/compare-tshark.ts";
import { tsharkWarnings } from "./test-support/tshark-fields.ts";

/*
 * Real traffic between two network namespaces joined by a veth pair, captured by tcpdump three
 * ways (Ethernet on the veth, Linux cooked SLL and SLL2 on "any"), decoded by qoelab and compared
 * field by field with tshark. Side A has TX checksum offload off (full checksums), side B keeps it
 * on (partial checksums on the wire: flagged). VLAN-tagged frames (802.1Q, QinQ) are built by
 * qoelab and sent through an AF_PACKET socket on the veth, because kernels without the 8021q
 * module (like CI's microVM) cannot create VLAN subinterfaces.
 */

const id = process.pid;
const nsA = `qoelab-lay-a-${id}`;
const nsB = `qoelab-lay-b-${id}`;
const ifA = `qla${id}`;
const ifB = `qlb${id}`;
const VLAN = 77;

function inNs(ns: string, args: readonly string[], input?: Uint8Array): string {
  return execFileSync("ip", ["netns", "exec", ns, ...args], {
    input,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
  });
}

function startCapture(args: readonly string[]): Promise<ChildProcess> {
  // Immediate mode: without it tcpdump can lose the block still filling when it is stopped.
  const child = spawn("ip", ["netns", "exec", nsA, "tcpdump", "-n", "-U", "--immediate-mode", "-s", "0", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let text = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("listening on")) resolve(child);
    });
    child.on("exit", (code) => reject(new Error(`tcpdump ${args.join(" ")} exited ${code}: ${text}`)));
  });
}

function stopCapture(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGINT");
  });
}

describe("tcpdump captures between two namespaces agree with tshark", () => {
  let dir = "";
  const captures: { name: string; file: string; linkType: number; packets: DecodedCapturePacket[] }[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `qoelab-netns-${id}-`));
    execFileSync("ip", ["netns", "add", nsA]);
    execFileSync("ip", ["netns", "add", nsB]);
    execFileSync("ip", ["link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
    for (const [ns, dev, host] of [
      [nsA, ifA, 1],
      [nsB, ifB, 2],
    ] as const) {
      inNs(ns, ["ip", "link", "set", "lo", "up"]);
      inNs(ns, ["ip", "link", "set", dev, "up"]);
      inNs(ns, ["ip", "addr", "add", `10.77.1.${host}/24`, "dev", dev]);
      inNs(ns, ["ip", "-6", "addr", "add", `fd00:77:1::${host}/64`, "dev", dev, "nodad"]);
    }
    inNs(nsA, ["ethtool", "-K", ifA, "tx", "off"]);

    const files = {
      ether: join(dir, "veth.pcap"),
      sll: join(dir, "any-sll.pcap"),
      sll2: join(dir, "any-sll2.pcap"),
    };
    children.push(await startCapture(["-i", ifA, "-w", files.ether]));
    children.push(await startCapture(["-i", "any", "-y", "LINUX_SLL", "-w", files.sll]));
    children.push(await startCapture(["-i", "any", "-y", "LINUX_SLL2", "-w", files.sll2]));

    // ICMP echo over raw sockets (the kernel answers), the request built by qoelab.
    const echo4 = icmp({ id: 0x5151, seq: 1 }).over(raw("qoelab ping")).bytes();
    const echo6 = icmpv6({ id: 0x6161, seq: 1 }).over(raw("qoelab ping6")).bytes();
    const recordRoute = `x0713${"04"}${"00".repeat(16)}00`; // RR with 4 slots + EOL
    for (const target of ["10.77.1.2"]) {
      inNs(nsA, ["socat", "-u", "STDIN", `IP4-SENDTO:${target}:1`], echo4);
      inNs(nsA, ["socat", "-u", "STDIN", `IP4-SENDTO:${target}:1,ip-options=${recordRoute}`], echo4);
    }
    for (const target of ["fd00:77:1::2"]) {
      inNs(nsA, ["socat", "-u", "STDIN", `IP6-SENDTO:[${target}]:58`], echo6);
    }
    // TCP transfers over IPv4 and IPv6.
    const payload = join(dir, "payload.bin");
    writeFileSync(payload, Buffer.alloc(20000, 0x61));
    for (const [listen, connect] of [
      ["TCP4-LISTEN:5001,reuseaddr", "TCP4:10.77.1.2:5001"],
      ["TCP6-LISTEN:5002,reuseaddr", "TCP6:[fd00:77:1::2]:5002"],
    ] as const) {
      const server = spawn("ip", ["netns", "exec", nsB, "socat", "-u", listen, "OPEN:/dev/null"], { stdio: "ignore" });
      children.push(server);
      inNs(nsA, ["socat", "-u", `OPEN:${payload}`, `${connect},retry=50,interval=0.05`]);
      await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.once("exit", resolve)));
    }
    // UDP to a listener and to closed ports (ICMP / ICMPv6 port unreachable quoting the datagram).
    const udpServer = spawn("ip", ["netns", "exec", nsB, "socat", "-u", "UDP4-RECV:5004", "OPEN:/dev/null"], {
      stdio: "ignore",
    });
    children.push(udpServer);
    await sleep(200);
    const datagram = new TextEncoder().encode("qoelab udp datagram");
    inNs(nsA, ["socat", "-u", "STDIN", "UDP4-SENDTO:10.77.1.2:5004"], datagram);
    inNs(nsA, ["socat", "-u", "STDIN", "UDP4-SENDTO:10.77.1.2:9"], datagram);
    inNs(nsA, ["socat", "-u", "STDIN", "UDP6-SENDTO:[fd00:77:1::2]:9"], datagram);
    inNs(nsA, ["socat", "-u", "STDIN", "UDP6-SENDTO:[fd00:77:1::2]:5006"], datagram);
    // VLAN-tagged frames, one socat write per frame on the veth's packet socket.
    const macA = inNs(nsA, ["cat", `/sys/class/net/${ifA}/address`]).trim();
    const macB = inNs(nsB, ["cat", `/sys/class/net/${ifB}/address`]).trim();
    const tagged = [
      stack(
        ether({ src: macA, dst: macB }),
        vlan({ vlan: VLAN, prio: 3 }),
        ipv4({ src: "10.77.2.1", dst: "10.77.2.2" }),
        udp(),
        raw("tagged"),
      ),
      stack(
        ether({ src: macA, dst: macB }),
        vlan({ vlan: VLAN }),
        ipv6({ src: "fd00:77:2::1", dst: "fd00:77:2::2" }),
        tcp({ flags: "S", options: [tcpOption.mss(1440), tcpOption.sackPermitted(), tcpOption.windowScale(7)] }),
      ),
      stack(
        ether({ src: macA, dst: macB, type: 0x88a8 }),
        vlan({ vlan: 100 }),
        vlan({ vlan: VLAN }),
        ipv4(),
        icmp(),
        raw("qinq"),
      ),
    ];
    for (const frame of tagged) inNs(nsA, ["socat", "-u", "STDIN", `INTERFACE:${ifA}`], frame.bytes());
    await sleep(500);
    udpServer.kill();
    for (const child of children) await stopCapture(child);
    captures.push(
      { name: "ether", file: files.ether, linkType: LinkType.ETHERNET, packets: decodeCaptureFile(files.ether) },
      { name: "sll", file: files.sll, linkType: LinkType.LINUX_SLL, packets: decodeCaptureFile(files.sll) },
      { name: "sll2", file: files.sll2, linkType: LinkType.LINUX_SLL2, packets: decodeCaptureFile(files.sll2) },
    );
  });

  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const ns of [nsA, nsB]) {
      try {
        execFileSync("ip", ["netns", "delete", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("captured the traffic on the expected link types", () => {
    for (const capture of captures) {
      assert.ok(capture.packets.length > 30, `${capture.name}: ${capture.packets.length} packets`);
      assert.ok(capture.packets.every((p) => p.linkType === capture.linkType));
    }
  });

  it("covers every layer the test means to exercise", () => {
    const ether = captures[0]!.packets.map((p) => p.packet);
    const some = (what: string, test: (p: (typeof ether)[number]) => boolean) =>
      assert.ok(ether.some(test), `no ${what} in the veth capture`);
    some("ARP", (p) => p.has("ARP"));
    some("VLAN-tagged IPv6 TCP", (p) => p.has("Dot1Q") && p.has("IPv6") && p.has("TCP"));
    some("IPv6 TCP", (p) => !p.has("Dot1Q") && p.has("IPv6") && p.has("TCP"));
    some("IPv4 record route", (p) => p.get("IPv4")?.fields.options.some((o) => o.type === 7) === true);
    some("ICMP echo reply", (p) => p.get("ICMP")?.fields.type === 0);
    some("ICMP port unreachable quoting UDP", (p) => p.get("ICMP")?.fields.type === 3 && p.get("UDP")?.quoted === true);
    some("ICMPv6 neighbor solicitation", (p) => p.get("ICMPv6")?.fields.type === 135);
    some("ICMPv6 echo reply", (p) => p.get("ICMPv6")?.fields.type === 129);
    some("ICMPv6 unreachable", (p) => p.get("ICMPv6")?.fields.type === 1 && p.get("IPv6", 1)?.quoted === true);
    some("TCP SYN with MSS, SACK-permitted, timestamps, window scale", (p) => {
      const kinds = p.get("TCP")?.fields.options.map((o) => o.kind) ?? [];
      return [2, 3, 4, 8].every((k) => kinds.includes(k));
    });
    some("UDP datagram", (p) => p.get("UDP")?.fields.dport === 5004);
  });

  for (const name of ["ether", "sll", "sll2"]) {
    it(`${name}: every compared field equals tshark's, for every packet`, () => {
      const capture = captures.find((c) => c.name === name)!;
      assert.equal(tsharkWarnings(capture.file), "");
      const result = compareWithTshark(capture.file);
      assert.deepEqual(result.mismatches.slice(0, 30), []);
      // Guards against comparing next to nothing. How many packets a live capture holds varies with
      // load (segmentation offload merges TCP segments; 945 values were seen on a busy machine).
      assert.ok(result.compared > 400, `only ${result.compared} values compared`);
    });

    it(`${name}: encode(decode(bytes)) gives the captured bytes back`, () => {
      for (const { packet, bytes } of captures.find((c) => c.name === name)!.packets) {
        assert.deepEqual(packet.bytes(), bytes, packet.summary());
      }
    });
  }

  it("flags TX-offload partial checksums as bad-checksum, and nothing else is anomalous", () => {
    const anomalies = captures[0]!.packets.flatMap((p) => p.packet.anomalies);
    assert.ok(anomalies.length > 0, "side B has TX checksum offload on: its TCP/UDP checksums should be partial");
    for (const a of anomalies) {
      assert.equal(a.code, "bad-checksum", `${a.layer}: ${a.message}`);
      assert.match(a.message, /TX checksum offload/);
    }
  });
});
