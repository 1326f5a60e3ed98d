import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { type Lab, labDown, labHost, labUp } from "../netlab/index.ts";
import { ipv4, udp } from "../packet/index.ts";
import { answers, packetTime, send, sniff, sr, sr1 } from "./index.ts";

/*
 * Scapy's first exercise with qoelab: packets crafted here go out of raw sockets inside lab hosts
 * (client — server network namespaces) and the answers come back matched.
 */

const name = `sn${(process.pid % 100000).toString(36)}`;
let lab: Lab;

function cli(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8" });
}

before(async () => {
  lab = await labUp({ name });
});

after(async () => {
  await labDown(name);
});

describe("qoelab send between two namespaces", () => {
  it("send --sr1 of an ICMP echo prints the reply", () => {
    const server = labHost(lab, "server").address;
    const r = cli(["send", "--host", `${name}:client`, `ipv4(dst=${server})/icmp(id=4660,seq=7)`, "--sr1"]);
    assert.equal(r.status, 0, r.stderr);
    const client = labHost(lab, "client").address;
    assert.match(r.stdout, new RegExp(`^IP ${client} > ${server} / ICMP echo-request id=4660 seq=7\\n`));
    assert.match(r.stdout, new RegExp(`==> Ether / IP ${server} > ${client} / ICMP echo-reply id=4660 seq=7 `));
  });

  it("send --sr of UDP to a closed port prints the ICMP port-unreachable answer", () => {
    const server = labHost(lab, "server").address;
    const r = cli(["send", "--host", `${name}:client`, `ipv4(dst=${server})/udp(sport=40123,dport=9)`, "--sr"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sent 1 packets, 1 answered, 0 unanswered\n/);
    assert.match(r.stdout, /==> Ether \/ IP .* \/ ICMP dest-unreach port-unreachable \/ \[IP .* \/ UDP 40123 > 9 /);
  });

  it("sr1 at layer 2, sr with an unanswered packet, send and sniff(count, filter) from TypeScript", async () => {
    const client = labHost(lab, "client");
    const server = labHost(lab, "server");
    // Layer 2: the Ethernet addresses are filled from the interface and the neighbour table.
    const l2 = await sr1(`ether/ipv4(dst=${server.address})/icmp(id=9,seq=1)`, { netns: client.netns });
    assert.ok(l2, "an answer at layer 2");
    assert.equal((l2.answer.get("ICMP")!.fields as { type: number }).type, 0);
    assert.ok(answers(l2.sent, l2.answer));
    // A packet built in code; nobody answers UDP to an address that is not there.
    const ghost = ipv4({ dst: "10.77.0.99" }).over(udp({ sport: 40200, dport: 5000 }));
    const r = await sr([ghost, `ipv4(dst=${server.address})/icmp(id=10,seq=2)`], {
      netns: client.netns,
      timeoutMs: 500,
    });
    assert.equal(r.answered.length, 1);
    assert.equal(r.unanswered.length, 1);
    assert.match(r.unanswered[0]!.summary(), /UDP 40200 > 5000/);
    // sniff(count=3, filter="udp port 5555") in the server while the client sends five such packets.
    const sniffed = sniff({ netns: server.netns, count: 3, filter: "udp port 5555", timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await send(`ipv4(dst=${server.address})/icmp`, { netns: client.netns });
    const sent = await send(`ipv4(dst=${server.address})/udp(dport=5555)/raw(text="x")`, {
      netns: client.netns,
      count: 5,
      interMs: 20,
    });
    assert.equal(sent.length, 5);
    const got = await sniffed;
    assert.equal(got.length, 3);
    for (const p of got) assert.equal((p.get("UDP")!.fields as { dport: number }).dport, 5555);
    // The sender's own packets too (Scapy's sniff, tcpdump): sniffing in the client sees what it sends.
    const own = sniff({ netns: client.netns, count: 2, filter: "udp port 5556", timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await send(`ipv4(dst=${server.address})/udp(dport=5556)/raw(text="y")`, { netns: client.netns, count: 2 });
    const ownGot = await own;
    assert.equal(ownGot.length, 2);
    // Each with the time it crossed the interface (wrpcap writes it), within this test's run.
    for (const p of ownGot) assert.ok(Math.abs((packetTime(p)?.sec ?? 0) - Date.now() / 1000) < 60);
    for (const p of ownGot)
      assert.match(p.summary(), new RegExp(`IP ${client.address} > ${server.address} / UDP \\d+ > 5556`));
  });

  it("capture --count N stops after N packets (sniff(count=N))", () => {
    const server = labHost(lab, "server").address;
    const file = `/tmp/qoelab-send-${process.pid}.pcap`;
    const capture = spawnSync(
      "sh",
      [
        "-c",
        `${process.execPath} --import tsx src/cli/main.ts capture --host ${name}:server --count 2 -f icmp -w ${file} & ` +
          `sleep 6; for i in 1 2 3 4 5 6 7 8; do ip netns exec qoelab-${name}-client ping -c 1 -W 1 ${server} >/dev/null; sleep 0.5; done; wait`,
      ],
      { encoding: "utf8" },
    );
    spawnSync("rm", ["-f", file]);
    assert.equal(capture.status, 0, capture.stderr);
    assert.match(capture.stdout, /^2 packets captured/m);
  });
});
