import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { loadTunAddon } from "./link-emulator-addon.ts";
import {
  DirectionPipeline,
  LOG_ARRIVAL,
  LOG_CODE,
  LOG_SCHEDULED,
  LOG_SEQ,
  LOG_SIZE,
  LOG_STRIDE,
} from "./link-emulator-pipeline.ts";
import type { DirectionSpec } from "./link-emulator-spec.ts";

/*
 * The decisions in C (native/tun/fast-path.c) are a second copy of the pipeline's queue and rate
 * decisions for simple specs. Here the same packets go through both and must get the same fates and
 * the same departure times, to the µs bit.
 *
 * The C side runs as in the emulator: a TUN in a namespace of its own, read by a release thread that
 * decides each packet and hands it to the release thread of the direction (which writes to /dev/null).
 * It stamps each packet when it reads it, so the sequence both see is the one it logged (stamp, size,
 * in order); the TypeScript pipeline takes it as the worker takes staged arrivals (arriveStamped).
 */

const tun = loadTunAddon();
const ns = `qfp${(process.pid % 100000).toString(36)}`;
const SLOTS = 64;
/** UDP payload sizes the sender cycles through (IP packets 28 bytes longer). */
const PAYLOADS = [72, 572, 1172, 1372, 172];
const BURSTS = 12;
const PER_BURST = 10;

function sh(argv: string[]): void {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8" });
  assert.equal(r.status, 0, `${argv.join(" ")}: ${r.stderr}`);
}

before(() => {
  sh(["ip", "netns", "add", ns]);
  // Nothing but our datagrams on the TUNs: no IPv6 autoconfiguration.
  sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
  sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
});

after(() => {
  spawnSync("ip", ["netns", "del", ns]);
});

/** Sends BURSTS bursts of PER_BURST datagrams to `to` from inside the namespace, 8 or 40 ms apart. */
function sendBursts(to: string): void {
  const code = `const s=require("node:dgram").createSocket("udp4");const sizes=${JSON.stringify(PAYLOADS)};let n=0;
function burst(b){for(let i=0;i<${PER_BURST};i++){const p=Buffer.alloc(sizes[n%sizes.length]);p.writeUInt32BE(n);s.send(p,9,"${to}");n++;}
if(b+1<${BURSTS})setTimeout(()=>burst(b+1),b%2?40:8);else setTimeout(()=>process.exit(0),100);}
burst(0);`;
  sh(["ip", "netns", "exec", ns, process.execPath, "-e", code]);
}

type Row = [seq: number, arrival: number, scheduled: number, size: number, code: number];

function rowsOf(log: Float64Array, count: number): Row[] {
  const rows: Row[] = [];
  for (let r = 0; r < count; r++) {
    const at = r * LOG_STRIDE;
    const f = (i: number) => log[at + i] as number;
    rows.push([f(LOG_SEQ), f(LOG_ARRIVAL), f(LOG_SCHEDULED), f(LOG_SIZE), f(LOG_CODE)]);
  }
  return rows;
}

/** The packets through the C path: a TUN (10.254.`index`.1, peer .2) read by a release thread. */
async function throughC(spec: DirectionSpec, index: number, epochUs: number): Promise<Row[]> {
  // The emulator's own parameters and pool for the C path (this pipeline decides nothing).
  const shape = new DirectionPipeline(
    spec,
    1,
    () => 0,
    () => 0,
    { slots: SLOTS, epochUs },
  );
  const params = shape.decidedInC;
  assert.ok(params, "the spec is simple enough to be decided in C");
  const name = `fpt${index}`;
  const fd = tun.openTun(name, `/var/run/netns/${ns}`, 1500, "/dev/net/tun");
  assert.ok(fd >= 0, `openTun: ${tun.strerror(fd)}`);
  sh(["ip", "-n", ns, "addr", "add", `10.254.${index}.1`, "peer", `10.254.${index}.2`, "dev", name]);
  const devNull = openSync("/dev/null", "w");
  const direction = tun.sender(devNull, shape.pool, shape.slotSize, 0, 0);
  const readerThread = tun.sender(fd, new Uint8Array(shape.slotSize * 4), shape.slotSize, 0, 0);
  const reader = tun.readerFast(fd, direction, params, 4096);
  const out = new Float64Array(4096 * LOG_STRIDE);
  const rows: Row[] = [];
  const take = () => {
    const n = tun.readerLog(reader, out);
    rows.push(...rowsOf(out, n));
  };
  try {
    sendBursts(`10.254.${index}.2`);
    // Every packet is written or dropped within the queue's drain time; wait for all their rows.
    for (let waited = 0; rows.length < BURSTS * PER_BURST && waited < 5000; waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
      take();
    }
  } finally {
    tun.readerStop(reader);
    tun.senderStop(direction, new Int32Array(SLOTS));
    tun.senderStop(readerThread, new Int32Array(4));
    take();
    tun.close(fd);
    closeSync(devNull);
  }
  return rows.sort((a, b) => a[0] - b[0]);
}

/** The same arrivals (stamps and sizes from the C log) through the TypeScript pipeline. */
function throughTypeScript(spec: DirectionSpec, arrivals: Row[], epochUs: number): Row[] {
  const rows: Row[] = [];
  const written: [slot: number, len: number, due: number][] = [];
  const pipeline = new DirectionPipeline(
    spec,
    1,
    (slots, lengths, due, count) => {
      for (let i = 0; i < count; i++) written.push([slots[i] as number, lengths[i] as number, due[i] as number]);
      return count;
    },
    () => 0,
    { slots: SLOTS, epochUs, onLog: (chunk, count) => rows.push(...rowsOf(chunk, count)) },
  );
  // The release thread writes each packet at its due time: its slot comes back, its row is logged.
  const release = () => {
    const n = written.length;
    pipeline.complete(
      Int32Array.from(written, (w) => w[0]),
      Int32Array.from(written, (w) => w[1]),
      Float64Array.from(written, (w) => w[2]),
      n,
    );
    written.length = 0;
  };
  for (const [, arrival, , size] of arrivals) {
    // The C log's times are since the epoch; the addition is exact (Sterbenz: stamp ∈ [epoch, 2·epoch]).
    const stamp = arrival + epochUs;
    pipeline.prepareRead();
    pipeline.readLengths[0] = size;
    pipeline.readStamps[0] = stamp;
    pipeline.arriveStamped(1);
    pipeline.advance(stamp);
    release();
  }
  pipeline.advance(Number.POSITIVE_INFINITY);
  release();
  pipeline.flushLog();
  return rows.sort((a, b) => a[0] - b[0]);
}

const CASES: { title: string; spec: DirectionSpec; drops: boolean }[] = [
  {
    title: "2 Mbit/s, droptail of 8 packets, 5 ms",
    spec: { rate: 2e6, delay: 0.005, queue: { packets: 8 } },
    drops: true,
  },
  {
    title: "3 Mbit/s, droptail of 6000 bytes, 6 ms",
    spec: { rate: 3e6, delay: 0.006, queue: { bytes: 6000 } },
    drops: true,
  },
  { title: "no rate, 5 ms", spec: { delay: 0.005 }, drops: false },
];

describe("decisions in C (fast-path.c) = the TypeScript pipeline's", () => {
  CASES.forEach(({ title, spec, drops }, index) => {
    it(`${title}: same packets, same fates and departure times`, async (t) => {
      const epochUs = tun.nowUs();
      const c = await throughC(spec, index, epochUs);
      const sizes = Array.from(
        { length: BURSTS * PER_BURST },
        (_, i) => (PAYLOADS[i % PAYLOADS.length] as number) + 28,
      );
      assert.deepEqual(
        c.map((r) => r[3]),
        sizes,
        "the C path read every datagram sent, once, in order",
      );
      assert.deepEqual(throughTypeScript(spec, c, epochUs), c);
      const dropped = c.filter((r) => r[4] === 2).length;
      const delivered = c.filter((r) => r[4] === 0).length;
      assert.equal(dropped + delivered, c.length, "every packet delivered or dropped by the queue");
      t.diagnostic(`${delivered} delivered, ${dropped} dropped by the queue`);
      if (drops) {
        assert.ok(dropped > 0 && delivered > 0, `${dropped} dropped, ${delivered} delivered`);
        // Some packets waited behind others and some found the server idle: both rules ran.
        const delayUs = (spec.delay ?? 0) * 1e6;
        const serviceUs = (size: number) => (size * 8e6) / (spec.rate ?? 1);
        const waited = c.filter((r) => r[4] === 0 && r[2] - r[1] - delayUs - serviceUs(r[3]) > 1).length;
        t.diagnostic(`${waited} waited in the queue`);
        assert.ok(waited > 0 && waited < delivered, `${waited} of ${delivered} waited in the queue`);
      }
    });
  });
});
