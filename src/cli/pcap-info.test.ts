import assert from "node:assert/strict";
import { test } from "node:test";
import { QoelabError } from "../errors.ts";
import { captureInfo, formatUtcTime } from "../packet/index.ts";
import { REALCAPS, realcapsFiles } from "../voip/test-support/realcaps.ts";
import { renderInfo } from "./pcap-info.ts";
import { runQoelab } from "./test-support/run-qoelab.ts";

test("pcap info renders every realcaps capture it reads (no time outside the calendar throws)", async () => {
  let rendered = 0;
  for (const file of realcapsFiles()) {
    let info: Awaited<ReturnType<typeof captureInfo>>;
    try {
      info = await captureInfo(`${REALCAPS}/${file}`);
    } catch (e) {
      assert.ok(e instanceof QoelabError, `${file}: ${String(e)}`);
      continue;
    }
    assert.match(renderInfo(info), /Number of packets/, file);
    rendered++;
  }
  assert.ok(rendered > 1100);
});

test("a 64-bit pcapng time past year 275760 prints as capinfos prints it, from the command line", () => {
  // pcapplusplus/pcapng-example.pcapng: interface 1's packets are at 18446744073204.277451 s
  // (tshark's frame.time_epoch); capinfos: "586524-01-19 07:53:24.277451". Date stops at 275760.
  const run = runQoelab(["pcap", "info", `${REALCAPS}/odd/pcapplusplus/pcapng-example.pcapng`], { timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Last packet time\s+586524-01-19 07:53:24\.277451000 UTC \(18446744073204\.277451000\)/);
});

test("an empty capture has no duration and zero rates, as capinfos prints them", async () => {
  const info = await captureInfo(`${REALCAPS}/odd/tcpdump-tests/empty.pcap`);
  assert.deepEqual([info.packets, info.duration, info.byteRate, info.packetRate], [0, null, 0, 0]);
  assert.match(renderInfo(info), /Capture duration \(s\)\s+n\/a/);
});

test("formatUtcTime is Date's UTC calendar over Date's whole range", () => {
  const limit = 8.64e12; // seconds either side of 1970 that Date holds
  for (let i = 0; i <= 2000; i++) {
    const sec = Math.round(-limit + ((2 * limit) / 2000) * i * 0.999);
    const iso = new Date(sec * 1000).toISOString();
    const expected = /^[+-]/.test(iso) ? null : `${iso.slice(0, 10)} ${iso.slice(11, 19)}.000000123`;
    if (expected !== null) assert.equal(formatUtcTime({ sec, nsec: 123 }), expected, String(sec));
  }
  assert.equal(formatUtcTime({ sec: 951782400, nsec: 0 }), "2000-02-29 00:00:00.000000000");
});
