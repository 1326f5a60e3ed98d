import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { concatBytes } from "./byte-order.ts";
import { convertCapture, copyCapture } from "./capture-convert.ts";
import type { ByteOrder, CaptureFormat, CaptureInterface, ReadFormat } from "./capture-format.ts";
import { captureInfo, formatEpoch } from "./capture-info.ts";
import type { CaptureParser } from "./capture-parser.ts";
import { forEachPacket, openCapture, readCaptureBytes, readCaptureStream } from "./capture-reader.ts";
import { createCaptureWriter } from "./capture-writer.ts";
import { copyRecord, type PacketRecord } from "./record.ts";

const dir = mkdtempSync(join(tmpdir(), `qlt-io-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const temp = (name: string) => join(dir, `${counter++}-${name}`);
const fixture = (name: string) => fileURLToPath(new URL(`../../test-data/pcap/${name}`, import.meta.url));

const FIXTURES = [
  "lo-us.pcap",
  "lo-ns.pcap",
  "veth-eth.pcap",
  "any-sll2.pcap",
  "lo-dumpcap.pcapng",
  "lo-comments.pcapng",
  "multi-if.pcapng",
];

function run(command: string, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  // tshark/capinfos warn about running as root; that line is not about the file.
  const stderr = result.stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("Running as user"))
    .join("\n");
  return { stdout: result.stdout, stderr, status: result.status };
}

/** tshark's view: epoch time, wire length, captured length (and interface id for pcapng). */
function tsharkLines(file: string, withInterface: boolean): string[] {
  const fields = ["frame.time_epoch", "frame.len", "frame.cap_len"];
  if (withInterface) fields.push("frame.interface_id");
  const result = run("tshark", ["-r", file, "-T", "fields", ...fields.flatMap((f) => ["-e", f])]);
  assert.equal(result.status, 0, `tshark failed on ${file}: ${result.stderr}`);
  assert.equal(result.stderr, "", `tshark warned on ${file}`);
  return result.stdout.split("\n").filter((l) => l !== "");
}

/** tshark numbers interfaces per section: compare with the local id. */
function line(r: PacketRecord, withInterface: boolean, parser?: CaptureParser): string {
  // A packet without a timestamp (SPB) shows no time, as tshark shows it.
  const time = r.hasTimestamp === false ? "" : formatEpoch({ sec: r.tsSec, nsec: r.tsNsec });
  const base = `${time}\t${r.origlen}\t${r.caplen}`;
  return withInterface ? `${base}\t${parser?.interfaces[r.interfaceId]?.localId}` : base;
}

async function ourLines(file: string, withInterface: boolean): Promise<string[]> {
  const lines: string[] = [];
  await forEachPacket(file, (r, parser) => {
    lines.push(line(r, withInterface, parser));
  });
  return lines;
}

interface Loaded {
  format: ReadFormat;
  interfaces: CaptureInterface[];
  packets: PacketRecord[];
}

async function load(file: string): Promise<Loaded> {
  const packets: PacketRecord[] = [];
  const summary = await forEachPacket(file, (r) => {
    packets.push(copyRecord(r));
  });
  return { format: summary.format!, interfaces: summary.interfaces, packets };
}

function bytesOf(r: PacketRecord): Uint8Array {
  return r.buffer.subarray(r.offset, r.offset + r.caplen);
}

describe("reader agrees with tshark on every fixture", () => {
  for (const name of FIXTURES) {
    test(name, async () => {
      const file = fixture(name);
      const withInterface = name.endsWith(".pcapng");
      const ours = await ourLines(file, withInterface);
      assert.ok(ours.length > 0);
      assert.deepEqual(ours, tsharkLines(file, withInterface));
    });
  }
});

interface Target {
  label: string;
  format: CaptureFormat;
  byteOrder: ByteOrder;
  nanosecond: boolean;
}

const TARGETS: Target[] = [
  { label: "pcap µs LE", format: "pcap", byteOrder: "le", nanosecond: false },
  { label: "pcap µs BE", format: "pcap", byteOrder: "be", nanosecond: false },
  { label: "pcap ns LE", format: "pcap", byteOrder: "le", nanosecond: true },
  { label: "pcap ns BE", format: "pcap", byteOrder: "be", nanosecond: true },
  { label: "pcapng LE", format: "pcapng", byteOrder: "le", nanosecond: true },
  { label: "pcapng BE", format: "pcapng", byteOrder: "be", nanosecond: false },
];

async function writeAs(source: Loaded, target: Target, file: string): Promise<void> {
  const linkTypes = new Set(source.interfaces.map((i) => i.linkType));
  const writer = createCaptureWriter(file, {
    format: target.format,
    byteOrder: target.byteOrder,
    nanosecond: target.nanosecond,
    linkType: source.interfaces[0]!.linkType,
    ...(target.format === "pcapng" && linkTypes.size > 1
      ? { interfaces: source.interfaces.map((i) => ({ linkType: i.linkType, tsresol: target.nanosecond ? 9 : 6 })) }
      : {}),
  });
  for (const p of source.packets) {
    writer.writePacket(linkTypes.size > 1 && target.format === "pcapng" ? p : { ...p, interfaceId: 0 });
  }
  await writer.close();
}

describe("write → read round trips (pcap µs/ns and pcapng, both byte orders)", () => {
  for (const name of ["lo-ns.pcap", "any-sll2.pcap", "multi-if.pcapng"]) {
    for (const target of TARGETS) {
      const several = name === "multi-if.pcapng";
      if (several && target.format === "pcap") continue;
      test(`${name} as ${target.label}`, async () => {
        const source = await load(fixture(name));
        const file = temp(`rt.${target.format}`);
        await writeAs(source, target, file);
        const back = await load(file);
        assert.equal(back.format, target.format);
        assert.equal(back.packets.length, source.packets.length);
        source.packets.forEach((p, i) => {
          const q = back.packets[i]!;
          assert.deepEqual(bytesOf(q), bytesOf(p));
          assert.equal(q.origlen, p.origlen);
          assert.equal(q.linkType, p.linkType);
          assert.equal(q.tsSec, p.tsSec);
          assert.equal(q.tsNsec, target.nanosecond ? p.tsNsec : Math.floor(p.tsNsec / 1000) * 1000);
        });
        // The written file is what tshark reads too, and opens without warnings.
        const withInterface = target.format === "pcapng";
        assert.deepEqual(await ourLines(file, withInterface), tsharkLines(file, withInterface));
        // Writing what was read again gives the same bytes.
        const again = temp(`rt2.${target.format}`);
        await writeAs(back, target, again);
        assert.deepEqual(readFileSync(again), readFileSync(file));
      });
    }
  }

  test("big-endian files read like their little-endian twins (per tshark too)", async () => {
    const source = await load(fixture("lo-ns.pcap"));
    const le = temp("le.pcapng");
    const be = temp("be.pcapng");
    await writeAs(source, TARGETS[4]!, le);
    await writeAs(source, { ...TARGETS[4]!, byteOrder: "be" }, be);
    assert.notDeepEqual(readFileSync(le), readFileSync(be));
    assert.deepEqual(await ourLines(be, true), await ourLines(le, true));
    assert.deepEqual(tsharkLines(be, true), tsharkLines(le, true));
  });
});

describe("byte-identical rewrite", () => {
  for (const name of FIXTURES) {
    test(`copyCapture ${name}`, async () => {
      const out = temp(name);
      const { written, read } = await copyCapture(fixture(name), out);
      assert.equal(written, read.packets);
      assert.deepEqual(readFileSync(out), readFileSync(fixture(name)));
    });
  }

  test("convert with the same format is a byte-identical copy; pcap ↔ pcapng keeps packets", async () => {
    const same = temp("same.pcapng");
    const summary = await convertCapture(fixture("lo-comments.pcapng"), same);
    assert.equal(summary.passthrough, true);
    assert.deepEqual(readFileSync(same), readFileSync(fixture("lo-comments.pcapng")));

    const ng = temp("conv.pcapng");
    await convertCapture(fixture("lo-ns.pcap"), ng);
    assert.deepEqual(tsharkLines(ng, false), tsharkLines(fixture("lo-ns.pcap"), false));
    const back = temp("conv.pcap");
    await convertCapture(ng, back);
    assert.deepEqual(readFileSync(back), readFileSync(fixture("lo-ns.pcap")));

    await assert.rejects(convertCapture(fixture("multi-if.pcapng"), temp("x.pcap")), {
      code: "PCAP_SEVERAL_LINK_TYPES",
    });
  });

  test("re-encoding a tcpdump pcap with the writer reproduces it exactly", async () => {
    for (const [name, nanosecond] of [
      ["lo-us.pcap", false],
      ["lo-ns.pcap", true],
    ] as const) {
      const source = await load(fixture(name));
      const out = temp(name);
      const writer = createCaptureWriter(out, { format: "pcap", linkType: 1, nanosecond });
      for (const p of source.packets) writer.writePacket(p);
      await writer.close();
      assert.deepEqual(readFileSync(out), readFileSync(fixture(name)));
    }
  });
});

describe("pcapng structure", () => {
  test("multi-if.pcapng: three interfaces with their own link type and resolution", async () => {
    const reader = await openCapture(fixture("multi-if.pcapng"));
    assert.equal(reader.format, "pcapng");
    const perInterface = new Map<number, number>();
    let n = 0;
    for await (const r of reader) {
      perInterface.set(r.interfaceId, (perInterface.get(r.interfaceId) ?? 0) + 1);
      assert.equal(r.linkType, reader.interfaces[r.interfaceId]!.linkType);
      n++;
    }
    assert.deepEqual(
      reader.interfaces.map((i) => [i.linkType, i.tsUnitsPerSecond]),
      [
        [1, 1e6],
        [1, 1e9],
        [276, 1e6],
      ],
    );
    assert.equal(n, 116);
    assert.deepEqual([...perInterface.entries()].sort(), [
      [0, 38],
      [1, 20],
      [2, 58],
    ]);
  });

  test("dumpcap metadata and editcap comments are exposed", async () => {
    const reader = await openCapture(fixture("lo-comments.pcapng"));
    assert.equal(reader.interfaces[0]!.name, "lo");
    assert.equal(reader.sections[0]!.comments[0], "qoelab fixture");
    const { packetComments } = await import("./pcapng-reader.ts");
    const comments: string[][] = [];
    for await (const _ of reader) comments.push(packetComments(reader.parser));
    assert.deepEqual(comments[0], ["first packet comment"]);
    assert.deepEqual(comments[1], []);
  });

  test("several sections (concatenated files, mixed byte order) get global interface ids", async () => {
    const source = await load(fixture("veth-eth.pcap"));
    const be = temp("sec-be.pcapng");
    await writeAs(source, TARGETS[5]!, be);
    const joined = temp("sections.pcapng");
    writeFileSync(joined, Buffer.concat([readFileSync(fixture("multi-if.pcapng")), readFileSync(be)]));
    const summary = await forEachPacket(joined, () => {});
    assert.equal(summary.sections.length, 2);
    assert.deepEqual(
      summary.sections.map((s) => s.byteOrder),
      ["le", "be"],
    );
    assert.equal(summary.interfaces.length, 4);
    assert.equal(summary.interfaces[3]!.section, 1);
    assert.deepEqual(await ourLines(joined, true), tsharkLines(joined, true));
    const copy = temp("sections-copy.pcapng");
    await copyCapture(joined, copy);
    assert.deepEqual(readFileSync(copy), readFileSync(joined));
  });

  test("hand-built blocks: SPB, OPB, NRB, ISB, custom, 2^-k and ms resolution, if_tsoffset", async () => {
    const bytes = craftPcapng();
    const file = temp("crafted.pcapng");
    writeFileSync(file, bytes);
    const summary = readCaptureBytes(bytes, () => {});
    assert.equal(summary.packets, 5);
    assert.equal(summary.nameResolutionBlocks, 1);
    assert.equal(summary.statisticsBlocks, 1);
    assert.equal(summary.otherBlocks, 1);
    const [eth, raw, ms] = summary.interfaces;
    assert.equal(eth!.name, "eth-test");
    assert.equal(eth!.description, "crafted");
    assert.equal(eth!.filter, "udp");
    assert.equal(eth!.os, "qoelab-os");
    assert.equal(eth!.tsUnitsPerSecond, 2 ** 20);
    assert.equal(raw!.tsOffset, 1000);
    assert.equal(ms!.tsUnitsPerSecond, 1000);
    // tshark lists the custom block as a 4-byte record without time, and the SPB (which has no
    // timestamp) without time, as qoelab does. All else as tshark converts it.
    const expected = tsharkLines(file, true).filter((l) => l !== "\t4\t4\t");
    assert.deepEqual(await ourLines(file, true), expected);
    const copy = temp("crafted-copy.pcapng");
    await copyCapture(file, copy);
    assert.deepEqual(new Uint8Array(readFileSync(copy)), bytes);
  });
});

describe("pcap info agrees with capinfos", () => {
  for (const name of FIXTURES) {
    test(name, async () => {
      const info = await captureInfo(fixture(name));
      const result = run("capinfos", ["-M", "-S", "-c", "-a", "-e", "-u", "-d", "-E", fixture(name)]);
      assert.equal(result.status, 0);
      const field = (label: string) => {
        const m = new RegExp(`^${label}:\\s+(.*)$`, "m").exec(result.stdout);
        assert.ok(m, `capinfos printed no ${label}`);
        return m[1]!.trim();
      };
      const epoch = (text: string) => {
        const [sec, frac = ""] = text.split(".");
        return `${sec}.${frac.padEnd(9, "0")}`;
      };
      assert.equal(info.packets, Number(field("Number of packets")));
      assert.equal(`${info.bytes} bytes`, field("Data size"));
      assert.equal(formatEpoch(info.firstTime!), epoch(field("First packet time")));
      assert.equal(formatEpoch(info.lastTime!), epoch(field("Last packet time")));
      assert.ok(Math.abs(info.duration! - Number.parseFloat(field("Capture duration"))) < 1e-9);
      const names: Record<number, string> = { 1: "ether", 276: "linux-sll2" };
      const encapsulation = field("File encapsulation");
      if (info.linkTypes.length === 1) assert.equal(encapsulation, names[info.linkTypes[0]!]);
      else assert.equal(encapsulation, "per-packet");
    });
  }

  test("CLI: qoelab pcap info --json and convert exit codes", () => {
    const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
    const info = spawnSync("npx", ["tsx", main, "pcap", "info", "--json", fixture("lo-ns.pcap")], {
      encoding: "utf8",
    });
    assert.equal(info.status, 0, info.stderr);
    const json = JSON.parse(info.stdout) as { packets: number; linkTypeNames: string[] };
    assert.equal(json.packets, 20);
    assert.deepEqual(json.linkTypeNames, ["EN10MB"]);
    const out = temp("cli.pcap");
    const bad = spawnSync("npx", ["tsx", main, "pcap", "convert", fixture("multi-if.pcapng"), out], {
      encoding: "utf8",
    });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /PCAP_SEVERAL_LINK_TYPES/);
  });
});

test("readCaptureStream reads a capture piped through a stream", async () => {
  const { createReadStream } = await import("node:fs");
  const lines: string[] = [];
  const summary = await readCaptureStream(createReadStream(fixture("any-sll2.pcap"), { highWaterMark: 333 }), (r) => {
    lines.push(line(r, false));
  });
  assert.equal(summary.packets, 58);
  assert.deepEqual(lines, await ourLines(fixture("any-sll2.pcap"), false));
});

/** A pcapng section built by hand (LE): 3 interfaces and one of each packet block kind. */
function craftPcapng(): Uint8Array {
  const parts: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array) => {
    const length = 12 + body.length;
    const out = new Uint8Array(length);
    const view = new DataView(out.buffer);
    view.setUint32(0, type, true);
    view.setUint32(4, length, true);
    out.set(body, 8);
    view.setUint32(length - 4, length, true);
    parts.push(out);
  };
  const options = (list: [number, Uint8Array][]) => {
    const chunks: number[] = [];
    for (const [code, value] of list) {
      chunks.push(code & 0xff, code >> 8, value.length & 0xff, value.length >> 8, ...value);
      while (chunks.length % 4 !== 0) chunks.push(0);
    }
    if (list.length > 0) chunks.push(0, 0, 0, 0);
    return Uint8Array.from(chunks);
  };
  const text = (s: string) => new TextEncoder().encode(s);
  const le32 = (...values: number[]) => {
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setUint32(i * 4, values[i]!, true);
    return out;
  };
  const pad = (bytes: Uint8Array) => concatBytes(bytes, new Uint8Array((4 - (bytes.length % 4)) % 4));
  block(0x0a0d0d0a, concatBytes(le32(0x1a2b3c4d, 1, 0xffffffff, 0xffffffff), options([[4, text("hand")]])));
  // IDB 0: Ethernet, 2^-20 s units, name/description/filter/os.
  block(
    1,
    concatBytes(
      le32(1, 0),
      options([
        [2, text("eth-test")],
        [3, text("crafted")],
        [9, Uint8Array.of(0x94)],
        [11, concatBytes(Uint8Array.of(0), text("udp"))],
        [12, text("qoelab-os")],
      ]),
    ),
  );
  // IDB 1: raw IP, ns units, if_tsoffset 1000 s.
  const offset = new Uint8Array(8);
  new DataView(offset.buffer).setBigInt64(0, 1000n, true);
  block(
    1,
    concatBytes(
      le32(101, 0),
      options([
        [9, Uint8Array.of(9)],
        [14, offset],
      ]),
    ),
  );
  // IDB 2: Ethernet, ms units, snaplen 64.
  block(1, concatBytes(le32(1, 64), options([[9, Uint8Array.of(3)]])));
  const frame = new Uint8Array(60).map((_, i) => i);
  frame[12] = 0x08;
  frame[13] = 0x00;
  const ip = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2]);
  // EPB on if 0: 1 700 000 000.5 s in 2^-20 units.
  const ts0 = 1_700_000_000 * 2 ** 20 + 2 ** 19 + 12345;
  block(
    6,
    concatBytes(le32(0, Math.floor(ts0 / 2 ** 32), ts0 % 2 ** 32, 60, 64), pad(frame), options([[1, text("c")]])),
  );
  // EPB on if 1 with ns units: hi/lo straddling 2^53.
  const tsHi = 0x179c0000;
  block(6, concatBytes(le32(1, tsHi, 0x89abcdef, 20, 20), pad(ip)));
  // OPB (obsolete packet block) on if 2: 16-bit interface id + drops count.
  const opbHead = new Uint8Array(4);
  new DataView(opbHead.buffer).setUint16(0, 2, true);
  block(2, concatBytes(opbHead, le32(0, 1_700_000_123_456 % 2 ** 32, 60, 60), pad(frame)));
  // NRB, custom block (PEN 32473, the example enterprise number) and ISB: kept, not packets.
  block(4, concatBytes(le32(0x00080001), Uint8Array.of(10, 77, 0, 1), text("abc\0"), le32(0)));
  block(0x00000bad, concatBytes(le32(32473), text("qoel")));
  block(5, concatBytes(le32(0, 0, 0)));
  // SPB: uses interface 0, no timestamp.
  block(3, concatBytes(le32(60), pad(frame)));
  // EPB on if 2 again (ms) near a second boundary.
  block(6, concatBytes(le32(2, 0, 1_700_000_123_999 % 2 ** 32, 60, 1514), pad(frame)));
  return concatBytes(...parts);
}
