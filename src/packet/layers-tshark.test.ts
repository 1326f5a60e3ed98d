import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { linkTypeName } from "./link-type.ts";
import type { Packet } from "./packet.ts";
import { compareWithTshark, decodeCaptureFile } from "./test-support/compare-tshark.ts";
import { layerCorpus } from "./test-support/layer-corpus.ts";
import { TSHARK_COMPARE_ARGS } from "./test-support/qoelab-fields.ts";
import { tsharkFields, tsharkWarnings } from "./test-support/tshark-fields.ts";
import { writePackets } from "./test-support/write-packets.ts";

// Builder output written to one pcap per link type and read back by tshark (the oracle).
describe("builder output agrees with tshark", () => {
  let dir = "";
  const files: { file: string; packets: Packet[] }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `qoelab-layers-${process.pid}-`));
    const byLink = new Map<number, Packet[]>();
    for (const packet of layerCorpus()) {
      const list = byLink.get(packet.linkType) ?? [];
      list.push(packet);
      byLink.set(packet.linkType, list);
    }
    for (const [linkType, packets] of byLink) {
      const file = join(dir, `corpus-${linkTypeName(linkType)}.pcap`);
      await writePackets(file, packets, linkType);
      files.push({ file, packets });
    }
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("every compared field equals tshark's, for every packet and link type", () => {
    let compared = 0;
    const mismatches: string[] = [];
    for (const { file } of files) {
      const result = compareWithTshark(file);
      compared += result.compared;
      mismatches.push(...result.mismatches.map((m) => `${file.split("/").pop()} ${m}`));
    }
    assert.deepEqual(mismatches.slice(0, 30), []);
    assert.ok(compared > 500, `only ${compared} values compared`);
  });

  it("opens without warnings and with good checksums except the ones crafted bad", () => {
    for (const { file, packets } of files) {
      assert.equal(tsharkWarnings(file), "");
      const rows = tsharkFields(
        file,
        [
          "ip.checksum.status",
          "tcp.checksum.status",
          "udp.checksum.status",
          "icmp.checksum.status",
          "icmpv6.checksum.status",
        ],
        TSHARK_COMPARE_ARGS,
      );
      rows.forEach((row, i) => {
        const crafted = packets[i]!.layers.some(
          (l) => (l.type === "IPv4" || l.type === "TCP" || l.type === "UDP") && (l.fields.checksum ?? 0) !== 0,
        );
        const statuses = row
          .join(",")
          .split(",")
          .filter((s) => s !== "");
        if (crafted) assert.ok(statuses.includes("0"), `#${i + 1} crafted bad checksum not flagged by tshark`);
        else
          assert.ok(!statuses.includes("0"), `#${i + 1} ${packets[i]!.summary()}: tshark says bad checksum (${row})`);
      });
    }
  });

  it("decoding the written file gives the built bytes back (encode(decode(bytes)) = bytes)", () => {
    for (const { file, packets } of files) {
      const decoded = decodeCaptureFile(file);
      decoded.forEach(({ packet, bytes }, i) => {
        assert.deepEqual(packet.bytes(), bytes, `#${i + 1} ${packet.summary()}`);
        assert.deepEqual(bytes, packets[i]!.bytes());
      });
    }
  });
});
