import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readTransportPayloads, readUdpPayloads, tsharkFields } from "../test-support/udp-payloads.ts";
import {
  canonicalSipHeaderName,
  decodeSip,
  encodeSip,
  parseSipNameAddr,
  parseSipUri,
  parseSipVia,
  SipStreamSplitter,
  sipCallId,
  sipContacts,
  sipContentType,
  sipCSeq,
  sipFrom,
  sipHeader,
  sipHeaderList,
  sipHeaderValues,
  sipTo,
  sipVias,
} from "./sip.ts";

const CAPTURES = ["test-data/sip/baresip-call.pcap", "test-data/sip/baresip-call-loss5.pcap"];
const enc = new TextEncoder();
const dec = new TextDecoder();

const COMPACT_INVITE = [
  "INVITE sip:bob@biloxi.example.com SIP/2.0",
  "v: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9",
  "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKx1, SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKx2;received=10.0.0.9",
  "Max-Forwards: 70",
  'f: "Alice, the first" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  "t: Bob <sip:bob@biloxi.example.com>",
  "i: 3848276298220188511@atlanta.example.com",
  "CSeq: 1 INVITE",
  "m: <sip:alice@client.atlanta.example.com;transport=tcp>;expires=60, sip:alice@10.0.0.1:5062",
  "Subject: a long",
  "  folded\tsubject",
  "c: application/sdp; charset=utf-8",
  "l: 11",
  "",
  "v=0\r\no=x 1 ",
].join("\r\n");

describe("SIP parse", () => {
  test("compact forms, folding, multi-valued headers and the body by Content-Length", () => {
    const bytes = enc.encode(COMPACT_INVITE);
    const decoded = decodeSip(bytes, 0, bytes.length);
    assert.deepEqual(decoded.anomalies, []);
    assert.equal(decoded.complete, true);
    const m = decoded.message;
    assert.ok(m && m.kind === "request");
    assert.equal(m.method, "INVITE");
    assert.equal(m.requestUri, "sip:bob@biloxi.example.com");
    assert.equal(sipCallId(m), "3848276298220188511@atlanta.example.com");
    assert.equal(sipHeader(m, "CALL-ID"), sipHeader(m, "i"));
    assert.deepEqual(sipCSeq(m), { sequence: 1, method: "INVITE" });
    assert.equal(sipHeader(m, "subject"), "a long folded\tsubject");
    assert.equal(sipContentType(m), "application/sdp");
    assert.equal(dec.decode(m.body), "v=0\r\no=x 1 ");
    const vias = sipVias(m);
    assert.deepEqual(
      vias.map((v) => [v.transport, v.host, v.port, v.branch]),
      [
        ["TCP", "client.atlanta.example.com", 5060, "z9hG4bK74bf9"],
        ["UDP", "proxy.example.com", null, "z9hG4bKx1"],
        ["UDP", "10.0.0.1", 5070, "z9hG4bKx2"],
      ],
    );
    assert.equal(vias[2]?.params["received"], "10.0.0.9");
    const from = sipFrom(m);
    assert.equal(from?.displayName, "Alice, the first");
    assert.equal(from?.tag, "9fxced76sl");
    assert.equal(from?.parsedUri?.user, "alice");
    const to = sipTo(m);
    assert.equal(to?.displayName, "Bob");
    assert.equal(to?.tag, null);
    const contacts = sipContacts(m);
    assert.equal(contacts.length, 2);
    assert.equal(contacts[0]?.params["expires"], "60");
    assert.equal(contacts[0]?.parsedUri?.params["transport"], "tcp");
    assert.equal(contacts[1]?.parsedUri?.port, 5062);
    assert.equal(sipHeaderList(m, "Via").length, 3);
    assert.equal(sipHeaderValues(m, "via").length, 2);
  });

  test("responses and header-name canonicalization", () => {
    const bytes = enc.encode("SIP/2.0 486 Busy Here\r\nCall-ID: x\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n");
    const m = decodeSip(bytes, 0, bytes.length).message;
    assert.ok(m && m.kind === "response");
    assert.equal(m.statusCode, 486);
    assert.equal(m.reasonPhrase, "Busy Here");
    assert.equal(canonicalSipHeaderName("i"), "Call-ID");
    assert.equal(canonicalSipHeaderName("CSEQ"), "CSeq");
    assert.equal(canonicalSipHeaderName("X-Custom"), "X-Custom");
  });

  test("URIs, name-addrs and Vias", () => {
    assert.deepEqual(parseSipUri("sips:user:pw@[2001:db8::1]:5061;transport=tcp;lr?subject=x"), {
      scheme: "sips",
      user: "user",
      password: "pw",
      host: "[2001:db8::1]",
      port: 5061,
      params: { transport: "tcp", lr: null },
      headers: "subject=x",
    });
    assert.equal(parseSipUri("not a uri"), null);
    const addrSpec = parseSipNameAddr("sip:carol@chicago.example.com;tag=abc");
    assert.equal(addrSpec?.uri, "sip:carol@chicago.example.com");
    assert.equal(addrSpec?.tag, "abc");
    assert.equal(parseSipNameAddr('"Quoted \\"name\\"" <sip:q@x>')?.displayName, 'Quoted "name"');
    assert.equal(parseSipNameAddr("<sip:unclosed@x"), null);
    assert.equal(parseSipVia("garbage"), null);
  });

  test("a message over UDP without Content-Length takes the rest of the datagram", () => {
    const bytes = enc.encode("MESSAGE sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\nhello");
    assert.equal(dec.decode(decodeSip(bytes).message?.body), "hello");
    assert.equal(dec.decode(decodeSip(bytes, 0, bytes.length, { transport: "stream" }).message?.body), "");
  });
});

describe("SIP encode", () => {
  test("round trip and Content-Length maintenance", () => {
    const bytes = enc.encode(COMPACT_INVITE);
    const m = decodeSip(bytes).message!;
    const again = decodeSip(encodeSip(m)).message!;
    assert.deepEqual(again.headers.slice(0, 5), m.headers.slice(0, 5));
    assert.equal(sipHeader(again, "l"), "11");
    const longer = { ...m, body: enc.encode("v=0\r\n") };
    assert.equal(sipHeader(decodeSip(encodeSip(longer)).message!, "Content-Length"), "5");
    const noLength = { ...m, headers: m.headers.filter((h) => h.name !== "l") };
    assert.match(dec.decode(encodeSip(noLength)), /\r\nContent-Length: 11\r\n\r\n/);
  });

  test("refuses values that would break the framing", () => {
    const m = decodeSip(enc.encode(COMPACT_INVITE)).message!;
    assert.throws(() => encodeSip({ ...m, headers: [{ name: "X", value: "a\r\nInjected: 1" }] }), {
      code: "PACKET_BAD_FIELD",
    });
    assert.throws(() => encodeSip({ ...m, headers: [{ name: "Bad Name", value: "1" }] }), {
      code: "PACKET_BAD_FIELD",
    });
  });
});

describe("SIP malformed input", () => {
  test("every truncation of a real INVITE: anomalies, never a throw", () => {
    const invite = readUdpPayloads(CAPTURES[0]!).find((u) => u.dstPort === 5060)!.bytes;
    for (let n = 1; n < invite.length; n++) {
      const decoded = decodeSip(invite, 0, n);
      assert.equal(decoded.complete, false, `length ${n}`);
      assert.ok(decoded.anomalies.length > 0, `length ${n}`);
    }
    assert.equal(decodeSip(invite, 0, invite.length).complete, true);
  });

  test("garbage, bad start lines, bad header lines, bad Content-Length, trailing bytes", () => {
    const cases: Array<[string, string]> = [
      ["\u0000\u0001binary", "bad-syntax"],
      ["GET / HTTP/1.1\r\n\r\n", "bad-syntax"],
      ["SIP/2.0 99 Too Low\r\n\r\n", "bad-syntax"],
      ["INVITE sip:a@b SIP/2.0\r\nno colon here\r\n\r\n", "bad-syntax"],
      ["INVITE sip:a@b SIP/2.0\r\nContent-Length: ten\r\n\r\n", "bad-length"],
      ["INVITE sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab", "bad-length"],
      ["INVITE sip:a@b SIP/2.0\r\nContent-Length: 99\r\n\r\nab", "truncated"],
      ["INVITE sip:a@b SIP/2.0\r\nContent-Length: 1\r\n\r\nabc", "trailing-bytes"],
      [" continuation\r\n\r\n", "bad-syntax"],
    ];
    for (const [text, code] of cases) {
      const decoded = decodeSip(enc.encode(text));
      assert.ok(
        decoded.anomalies.some((a) => a.code === code),
        `${JSON.stringify(text)} → ${JSON.stringify(decoded.anomalies)}`,
      );
    }
    const keepAlive = decodeSip(enc.encode("\r\n\r\n"));
    assert.equal(keepAlive.message, null);
    assert.deepEqual(keepAlive.anomalies, []);
  });

  test("random byte flips of real messages never throw", () => {
    const messages = readUdpPayloads(CAPTURES[0]!).filter((u) => u.srcPort === 5060 || u.dstPort === 5060);
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    for (let i = 0; i < 2000; i++) {
      const source = messages[i % messages.length]!.bytes;
      const bytes = Uint8Array.from(source);
      for (let k = 0; k < 3; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const decoded = decodeSip(bytes, 0, Math.floor(random() * (bytes.length + 1)));
      // What decodes re-encodes, or is refused with a coded error (e.g. a lone CR in a value).
      if (decoded.message) {
        try {
          encodeSip(decoded.message, { setContentLength: false });
        } catch (error) {
          assert.equal((error as { code?: string }).code, "PACKET_BAD_FIELD");
        }
      }
    }
  });
});

describe("SipStreamSplitter", () => {
  const messages = readUdpPayloads(CAPTURES[0]!)
    .filter((u) => u.srcPort === 5060 || u.dstPort === 5060)
    .map((u) => u.bytes);
  const stream = new Uint8Array(messages.reduce((n, m) => n + m.length + 2, 0));
  let at = 0;
  for (const m of messages) {
    stream.set(m, at);
    stream.set([13, 10], at + m.length); // a keep-alive CRLF between messages
    at += m.length + 2;
  }

  test("cuts the stream into the same messages for every chunk size", () => {
    for (let size = 1; size <= stream.length; size += size < 40 ? 1 : 97) {
      const splitter = new SipStreamSplitter();
      const out: Uint8Array[] = [];
      for (let p = 0; p < stream.length; p += size) out.push(...splitter.push(stream.subarray(p, p + size)));
      assert.equal(out.length, messages.length, `chunk size ${size}`);
      assert.deepEqual(out, messages);
      assert.equal(splitter.end(), null);
      assert.deepEqual(splitter.anomalies, []);
    }
  });

  test("a partial message waits; end() returns it as truncated; an endless head is bounded", () => {
    const splitter = new SipStreamSplitter();
    const first = messages[0]!;
    assert.deepEqual(splitter.push(first.subarray(0, first.length - 5)), []);
    assert.equal(splitter.pendingBytes, first.length - 5);
    assert.equal(splitter.end()?.length, first.length - 5);
    assert.equal(splitter.anomalies[0]?.code, "truncated");
    const bounded = new SipStreamSplitter({ maxMessageSize: 1000 });
    for (let i = 0; i < 10; i++) bounded.push(new Uint8Array(500).fill(65));
    assert.ok(bounded.pendingBytes <= 1500);
    assert.equal(bounded.anomalies[0]?.code, "bad-length");
  });
});

describe("SIP agrees with tshark on baresip calls", () => {
  test("SIP over TCP: each direction's byte stream splits into the messages tshark reassembles", () => {
    const capture = "test-data/sip/baresip-call-tcp.pcap";
    const expected = [
      ...tsharkFields(capture, "sip", ["tcp.srcport", "sip.Call-ID", "sip.CSeq.seq", "sip.CSeq.method"]),
    ];
    assert.equal(expected.length, 6);
    const splitters = new Map<number, SipStreamSplitter>();
    const nextSeq = new Map<number, number>();
    const mine: Array<Record<string, string>> = [];
    for (const segment of readTransportPayloads(capture)) {
      if (segment.proto !== 6) continue;
      const key = segment.srcPort * 65536 + segment.dstPort;
      const want = nextSeq.get(key);
      assert.ok(want === undefined || want === segment.seq, `frame ${segment.frame}: in-order segment`);
      nextSeq.set(key, (segment.seq + segment.bytes.length) >>> 0);
      let splitter = splitters.get(key);
      if (!splitter) {
        splitter = new SipStreamSplitter();
        splitters.set(key, splitter);
      }
      for (const bytes of splitter.push(segment.bytes)) {
        const decoded = decodeSip(bytes, 0, bytes.length, { transport: "stream" });
        assert.deepEqual(decoded.anomalies, []);
        assert.equal(decoded.messageLength, bytes.length);
        const m = decoded.message!;
        assert.deepEqual(encodeSip(m), bytes);
        mine.push({
          "tcp.srcport": String(segment.srcPort),
          "sip.Call-ID": sipCallId(m) ?? "",
          "sip.CSeq.seq": String(sipCSeq(m)?.sequence),
          "sip.CSeq.method": sipCSeq(m)?.method ?? "",
        });
        assert.equal(sipVias(m)[0]?.transport, "TCP");
      }
    }
    assert.deepEqual(
      mine,
      expected.map(([, row]) => row),
    );
    for (const splitter of splitters.values()) assert.equal(splitter.end(), null);
  });

  for (const capture of CAPTURES) {
    test(capture, () => {
      const fields = [
        "sip.Method",
        "sip.r-uri",
        "sip.Status-Code",
        "sip.Call-ID",
        "sip.CSeq.seq",
        "sip.CSeq.method",
        "sip.from.user",
        "sip.from.host",
        "sip.from.tag",
        "sip.to.user",
        "sip.to.tag",
        "sip.Via.transport",
        "sip.Via.branch",
        "sip.contact.uri",
        "sip.Content-Length",
      ];
      const expected = tsharkFields(capture, "sip", fields);
      assert.ok(expected.size >= 6);
      let compared = 0;
      for (const udp of readUdpPayloads(capture)) {
        const row = expected.get(udp.frame);
        if (!row) continue;
        const decoded = decodeSip(udp.bytes, 0, udp.bytes.length);
        assert.deepEqual(decoded.anomalies, [], `frame ${udp.frame}`);
        const m = decoded.message!;
        const from = sipFrom(m);
        const to = sipTo(m);
        const via = sipVias(m)[0];
        const mine = {
          "sip.Method": m.kind === "request" ? m.method : "",
          "sip.r-uri": m.kind === "request" ? m.requestUri : "",
          "sip.Status-Code": m.kind === "response" ? String(m.statusCode) : "",
          "sip.Call-ID": sipCallId(m) ?? "",
          "sip.CSeq.seq": String(sipCSeq(m)?.sequence ?? ""),
          "sip.CSeq.method": sipCSeq(m)?.method ?? "",
          "sip.from.user": from?.parsedUri?.user ?? "",
          "sip.from.host": from?.parsedUri?.host ?? "",
          "sip.from.tag": from?.tag ?? "",
          "sip.to.user": to?.parsedUri?.user ?? "",
          "sip.to.tag": to?.tag ?? "",
          "sip.Via.transport": via?.transport ?? "",
          "sip.Via.branch": via?.branch ?? "",
          "sip.contact.uri": sipContacts(m)
            .map((c) => c.uri)
            .join("|"),
          "sip.Content-Length": sipHeader(m, "Content-Length") ?? "",
        };
        assert.deepEqual(mine, row, `frame ${udp.frame}`);
        assert.deepEqual(encodeSip(m), udp.bytes, `frame ${udp.frame} re-encodes identically`);
        compared++;
      }
      assert.equal(compared, expected.size);
    });
  }
});
