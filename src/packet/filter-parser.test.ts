import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { QoelabError } from "../errors.ts";
import { Dissection, dissect } from "./dissect.ts";
import { compileFilter } from "./filter-compile.ts";
import { createRecord } from "./record.ts";

function errorOf(expression: string): QoelabError {
  try {
    compileFilter(expression);
  } catch (error) {
    assert.ok(error instanceof QoelabError, `not a QoelabError: ${String(error)}`);
    return error;
  }
  assert.fail(`compiled: ${JSON.stringify(expression)}`);
}

describe("filter errors point at the offending column", () => {
  const cases: Array<[string, string, number]> = [
    ["tcp port", "FILTER_SYNTAX", 9],
    ["host 10.0.0.1 and", "FILTER_SYNTAX", 18],
    ["(tcp or udp", "FILTER_SYNTAX", 12],
    ["tcp or udp)", "FILTER_SYNTAX", 11],
    ["port 80 $ 1", "FILTER_SYNTAX", 9],
    ["10.0.0.1", "FILTER_SYNTAX", 1],
    ["len > ", "FILTER_SYNTAX", 7],
    ["ip[2:3] > 1", "FILTER_BAD_ARITHMETIC", 6],
    ["len / 0 > 1", "FILTER_BAD_ARITHMETIC", 5],
    ["len % 0 > 1", "FILTER_BAD_ARITHMETIC", 5],
    ["len >> 32 > 1", "FILTER_BAD_ARITHMETIC", 5],
    ["len > 4294967296", "FILTER_BAD_NUMBER", 7],
    ["host 256.1.1.1", "FILTER_BAD_ADDRESS", 6],
    ["port 70000", "FILTER_BAD_PORT", 6],
    ["tcp portrange 1-65536", "FILTER_BAD_PORT", 15],
    ["vlan 4096", "FILTER_BAD_VLAN", 6],
    ["net 10.77.0.1/16", "FILTER_BAD_NET", 5],
    ["net 10.0.0.0/33", "FILTER_BAD_NET", 14],
    ["net fd00:77::1/48", "FILTER_BAD_NET", 5],
    ["net fd00::/129", "FILTER_BAD_NET", 12],
    ["host 10.0.0.0/8", "FILTER_BAD_NET", 14],
    ["ip6 host 10.0.0.1", "FILTER_BAD_QUALIFIER", 10],
    ["ip host fd00::1", "FILTER_BAD_QUALIFIER", 9],
    ["tcp host 10.0.0.1", "FILTER_BAD_QUALIFIER", 10],
    ["ip port 80", "FILTER_BAD_QUALIFIER", 9],
    ["host 02:00:00:00:00:01", "FILTER_BAD_QUALIFIER", 6],
    ["host example.com", "FILTER_UNKNOWN_NAME", 6],
    ["tcp and host a or b", "FILTER_UNKNOWN_NAME", 14],
    ["port http", "FILTER_UNKNOWN_NAME", 6],
    ["ip proto \\nosuch", "FILTER_UNKNOWN_NAME", 10],
    ["geneve 5", "FILTER_UNSUPPORTED", 1],
    ["gateway x", "FILTER_UNSUPPORTED", 1],
    ["frob", "FILTER_SYNTAX", 1],
    ["tcp[13] & 2 != 0 and ! ", "FILTER_SYNTAX", 24],
  ];
  for (const [expression, code, column] of cases) {
    test(`${expression} → ${code} at ${column}`, () => {
      const error = errorOf(expression);
      assert.equal(error.code, code, error.message);
      assert.equal(error.details.column, column, error.message);
      const lines = error.message.split("\n");
      assert.match(lines[0]!, new RegExp(`^filter: .* at column ${column}$`));
      assert.equal(lines[1], `  ${expression}`);
      assert.equal(lines[2], `  ${" ".repeat(column - 1)}^`);
    });
  }
});

describe("filter semantics on a crafted frame", () => {
  // Ethernet / IPv4 10.77.0.1 → 10.77.0.2 / TCP 40000 → 80, SYN.
  const hex =
    "020000000002020000000001080045000028000140004006000" +
    "00a4d00010a4d00029c400050000000010000000050022000000000000";
  const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => Number.parseInt(h, 16)));
  const record = createRecord();
  record.buffer = bytes;
  record.caplen = bytes.length;
  record.origlen = bytes.length;
  const dissection = new Dissection();
  dissect(bytes, 0, bytes.length, bytes.length, 1, dissection);
  const cases: Array<[string, boolean]> = [
    ["", true],
    ["tcp", true],
    ["udp", false],
    ["host 10.77.0.1 and 10.77.0.2", true],
    ["src 10.77.0.2", false],
    ["net 10.77.0.0/16 and port 80 or 81", true],
    ["tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", true],
    ["tcp[tcpflags] = tcp-ack", false],
    ["not tcp[100] = 0", false], // a load past the captured bytes rejects the packet, as in BPF
    ["len = 54", true],
    ["-len = 4294967242", true],
    ["ip[8] = 64 and ip[9] = 6", true],
    ["010 = 8", true],
    ["0x10 = 16 and len - 54 = 0", true],
    ["1 | 2 ^ 3 = 1 and 6 & 3 ^ 1 = 2 and 1 << 2 + 1 = 8", true],
    ["ether src 02:00:00:00:00:01 and ether dst 0200.0000.0002", true],
    ["ether host 02-00-00-00-00-09", false],
    ["vlan", false],
    ["ip and not ip6 and !arp", true],
    ["(tcp[12] & 0xf0) >> 2 = 20", true],
  ];
  for (const [expression, expected] of cases) {
    test(`${JSON.stringify(expression)} → ${expected}`, () => {
      const filter = compileFilter(expression);
      assert.equal(filter.matches(record, dissection), expected);
      assert.equal(filter.matchesRecord(record), expected);
    });
  }
});

describe("filter fuzz", () => {
  const vocabulary = [
    "host",
    "net",
    "port",
    "portrange",
    "src",
    "dst",
    "and",
    "or",
    "not",
    "!",
    "&&",
    "||",
    "(",
    ")",
    "[",
    "]",
    ":",
    "ip",
    "ip6",
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "arp",
    "vlan",
    "ether",
    "proto",
    "len",
    "less",
    "greater",
    "mask",
    "10.77.0.1",
    "10.77",
    "fd00:77::1",
    "02:00:00:00:00:01",
    "/",
    "24",
    "80",
    "1-2",
    "0x10",
    "tcpflags",
    "tcp-syn",
    "+",
    "-",
    "*",
    "%",
    "&",
    "|",
    "^",
    "<<",
    ">>",
    "=",
    "!=",
    "<",
    ">=",
    "broadcast",
    "multicast",
    "\\tcp",
    "protochain",
    "inbound",
    "70000",
    "4294967296",
    "abc",
    "$",
    "",
  ];
  test("random token sequences: never hang, only FILTER_* errors", () => {
    let seed = 0x7a11;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const record = createRecord();
    const dissection = new Dissection();
    let compiled = 0;
    for (let i = 0; i < 5000; i++) {
      const length = 1 + Math.floor(random() * 12);
      const words: string[] = [];
      for (let k = 0; k < length; k++) words.push(vocabulary[Math.floor(random() * vocabulary.length)]!);
      const expression = words.join(random() < 0.8 ? " " : "");
      try {
        const filter = compileFilter(expression);
        filter.matches(record, dissection);
        compiled++;
      } catch (error) {
        assert.ok(error instanceof QoelabError, `${JSON.stringify(expression)}: ${String(error)}`);
        assert.match(error.code, /^FILTER_/);
        const column = Number(error.details.column);
        assert.ok(column >= 1 && column <= expression.length + 1, `${expression}: column ${column}`);
      }
    }
    assert.ok(compiled > 50, `${compiled} compiled`);
  });

  test("deep nesting is refused, not a stack overflow", () => {
    assert.equal(errorOf(`${"(".repeat(5000)}tcp${")".repeat(5000)}`).code, "FILTER_TOO_COMPLEX");
    assert.equal(errorOf(`${"not ".repeat(5000)}tcp`).code, "FILTER_TOO_COMPLEX");
    assert.equal(
      compileFilter(`${"(".repeat(50)}tcp${")".repeat(50)}`).matches(createRecord(), new Dissection()),
      false,
    );
  });
});

describe("arithmetic precedence follows libpcap (checked with tcpdump -d constant folding)", () => {
  const truths = [
    "1 | 2 ^ 3 = 1",
    "6 & 3 ^ 1 = 2",
    "1 << 2 + 1 = 8",
    "2 ^ 1 << 1 = 0",
    "1 + 2 ^ 3 = 2",
    "2 ^ 3 + 1 = 6",
    "2 * 3 ^ 1 = 4",
    "1 ^ 1 ^ 1 = 1",
    "8 - 2 - 1 = 5",
    "2 ^ 1 * 3 = 1",
    "-1 = 4294967295",
    "7 / 2 * 2 = 6",
    "1 + 2 * 3 = 7",
    "(1 + 2) * 3 = 9",
    "0xffffffff + 2 = 1",
    "3 - 5 > 0",
  ];
  for (const expression of truths) {
    test(expression, () => {
      assert.equal(compileFilter(expression).matches(createRecord(), new Dissection()), true);
    });
  }
});
