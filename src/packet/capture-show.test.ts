import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isQoelabError } from "../errors.ts";
import { craftCapture, type ShownPacket, showCapture } from "./capture-show.ts";
import { parseLayerSpec } from "./layer-spec.ts";
import { LinkType } from "./link-type.ts";
import { compareWithTshark } from "./test-support/compare-tshark.ts";
import { tsharkFields } from "./test-support/tshark-fields.ts";

describe("layer descriptions", () => {
  it("build the same packets as the builder API", () => {
    const packet = parseLayerSpec(
      "ether/vlan(vlan=10,prio=5)/ipv6(dst=fd00:77::9,ext=hop+frag:0:1:7)/tcp(flags=SA,seq=0x10,options=mss:1460+sackok+ts:5:6+nop+wscale:7+sack:1-2;3-4)",
    );
    assert.equal(
      packet.summary(),
      "Ether / 802.1Q vlan=10 / IPv6 fd00:77::1 > fd00:77::9 frag / TCP 49152 > 80 [SA] seq=16 ack=0 win=64240",
    );
    const ip = parseLayerSpec('ip(options=rr:2+nop+eol)/udp(sport=1,dport=2)/raw(text="a,b/c")');
    assert.equal(ip.linkType, LinkType.RAW);
    assert.equal(ip.get("Raw")?.fields.data.length, 5);
  });

  const bad: [string, number, RegExp][] = [
    ["", 1, /empty/],
    ["ether/ipv5", 7, /unknown layer "ipv5"/],
    ["ether/ipv4(ttl=64", 18, /expected "," or "\)", found the end/],
    ["ether/ipv4(tll=64)", 12, /ipv4 has no field "tll"/],
    ["ether/ipv4(ttl=x)", 16, /ipv4\.ttl: "x" is not a number/],
    ["ether/ipv4(ttl)", 15, /expected "=" after ttl/],
    ["ether ipv4", 7, /expected "\/" between layers/],
    ["ether/tcp(options=mss:1+bogus)", 19, /unknown TCP option "bogus"/],
    ["ether(dst=02:00)", 11, /not a MAC address/],
  ];
  for (const [spec, column, message] of bad) {
    it(`"${spec}" fails at column ${column}`, () => {
      assert.throws(
        () => parseLayerSpec(spec),
        (e) =>
          isQoelabError(e) &&
          e.code === "PACKET_BAD_LAYER_SPEC" &&
          e.details.column === column &&
          message.test(e.message),
      );
    });
  }
});

describe("craftCapture and showCapture", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), `qoelab-craft-${process.pid}-`));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("writes pcap and pcapng that tshark reads with the same fields and good checksums", async () => {
    for (const format of ["pcap", "pcapng"] as const) {
      const file = join(dir, `craft.${format}`);
      const result = await craftCapture(file, "ether/ipv4(dst=10.77.0.2)/udp(dport=5004)/raw(hex=8000000100000000)", {
        count: 5,
        format,
        startTime: 1_700_000_000,
      });
      assert.equal(result.packets, 5);
      assert.deepEqual(compareWithTshark(file).mismatches, []);
      const statuses = tsharkFields(
        file,
        ["ip.checksum.status", "udp.checksum.status"],
        ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"],
      );
      assert.deepEqual(statuses, Array(5).fill(["1", "1"]));
    }
  });

  it("shows packets through the pcap filter, up to -c", async () => {
    const file = join(dir, "mixed.pcap");
    await craftCapture(file, "ether/ipv4/tcp(dport=443)", { count: 2, startTime: 1 });
    const shown: ShownPacket[] = [];
    const all = await showCapture(file, {}, (p) => shown.push(p));
    assert.deepEqual(all, { read: 2, shown: 2 });
    assert.equal(shown[0]!.packet.summary(), "Ether / IP 10.77.0.1 > 10.77.0.2 / TCP 49152 > 443 [S] seq=0 win=64240");
    assert.deepEqual(await showCapture(file, { filter: "udp" }, () => {}), { read: 2, shown: 0 });
    assert.deepEqual(await showCapture(file, { filter: "tcp port 443", count: 1 }, () => {}), { read: 1, shown: 1 });
  });

  it("rejects a description without link or IP layer", async () => {
    await assert.rejects(
      craftCapture(join(dir, "x.pcap"), "udp/raw"),
      (e) => isQoelabError(e) && e.code === "PACKET_NO_LINK_LAYER",
    );
  });
});
