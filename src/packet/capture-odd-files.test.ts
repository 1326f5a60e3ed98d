import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { QoelabError } from "../errors.ts";
import { captureInfo, formatEpoch } from "./capture-info.ts";
import { forEachPacket } from "./capture-reader.ts";

/** Real captures written by other tools (../shared/data/realcaps), checked against capinfos. */
const REALCAPS = "/work/shared/data/realcaps";
const odd = (file: string) => join(REALCAPS, "odd", file);

function capinfos(path: string): Record<string, string> {
  const out = execFileSync("capinfos", ["-M", "-S", "-c", "-a", "-e", "-u", "-o", path], { encoding: "utf8" });
  const fields: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) fields[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return fields;
}

async function rejection(path: string): Promise<QoelabError> {
  try {
    await captureInfo(path);
  } catch (error) {
    assert.ok(error instanceof QoelabError, String(error));
    return error;
  }
  assert.fail(`${path} was read`);
}

describe("odd real captures", () => {
  test("pcapng Simple Packet Blocks have no timestamp: no 1970 start, times n/a as capinfos shows", async () => {
    const path = odd("pcapng-test-suite/le/test011.pcapng");
    const info = await captureInfo(path);
    const oracle = capinfos(path);
    assert.equal(info.packets, Number(oracle["Number of packets"]));
    assert.equal(info.untimedPackets, 2);
    assert.equal(info.firstTime, null);
    assert.equal(info.lastTime, null);
    assert.equal(info.duration, null);
    assert.equal(info.strictTimeOrder, null);
    // capinfos leaves the times out altogether, or says n/a.
    for (const field of ["First packet time", "Last packet time", "Capture duration"]) {
      assert.ok(oracle[field] === undefined || oracle[field] === "n/a", `${field}: ${oracle[field]}`);
    }
    const times: (number | null)[] = [];
    await forEachPacket(path, (r) => {
      times.push(r.hasTimestamp === false ? null : r.tsSec);
    });
    // tshark shows no time for frames 1 and 3.
    assert.deepEqual(times, [null, 1340954905, null, 1340954905]);
  });

  test("records longer than the snaplen are read and counted, as capinfos and tcpdump do", async () => {
    const path = odd("tcpdump-tests/pim-packet-assortment.pcap");
    const info = await captureInfo(path);
    assert.equal(info.packets, Number(capinfos(path)["Number of packets"]));
    assert.equal(info.oversizedPackets, 2);
    assert.equal(info.warnings[0]?.code, "PCAP_CAPLEN_EXCEEDS_SNAPLEN");
  });

  test("Sun snoop is read like capinfos reads it", async () => {
    const path = odd("pcapplusplus/solaris.snoop");
    const info = await captureInfo(path);
    const oracle = capinfos(path);
    assert.equal(info.format, "snoop");
    assert.equal(info.packets, Number(oracle["Number of packets"]));
    assert.deepEqual(info.linkTypes, [1]);
    const epoch = (text: string) => {
      const [sec, frac = ""] = text.split(".");
      return `${sec}.${frac.padEnd(9, "0")}`;
    };
    assert.equal(formatEpoch(info.firstTime!), epoch(oracle["First packet time"]!));
    assert.equal(formatEpoch(info.lastTime!), epoch(oracle["Last packet time"]!));
  });

  test("files both capinfos and tcpdump refuse get coded errors", async () => {
    assert.equal((await rejection(odd("libpcap-tests/pcapng-invalid-vers-2.pcapng"))).code, "PCAPNG_BAD_VERSION");
    assert.equal(
      (await rejection(odd("libpcap-tests/linktype-reserved-field-not-zero.pcap"))).code,
      "PCAP_BAD_LINK_TYPE",
    );
  });
});
