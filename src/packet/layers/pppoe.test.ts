import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ether, ipv4, ipv6, ppp, pppoe, raw, stack, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Dissection, dissect } from "../dissect.ts";
import { compileFilter } from "../filter-compile.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { decodePacket } from "../packet.ts";
import { compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { decodeSip } from "./sip.ts";

/**
 * PPPoE (RFC 2516) against tshark on real captures: discovery and session frames, PPP's IPv4
 * inside, SIP found in a PPPoE session (voip/DTMFsipinfo.pcap), in the slow path (layers, every
 * comparable field), the fast path (ports and addresses flows and RTP/SIP analysis read) and
 * the builder.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps");
const FILES = [
  "voip/DTMFsipinfo.pcap",
  "odd/pcapplusplus/packet-examples/PPPoESession.pcap",
  "odd/pcapplusplus/packet-examples/PPPoEDiscovery.pcap",
  "odd/libpcap-tests/pppoes.pcap",
  "odd/libpcap-tests/pppoe.pcap",
  "odd/suricata-verify/pppoe-session-http.pcap",
].filter((f) => existsSync(join(REALCAPS, f)));

/** tshark protocol names of the headers qoelab decodes (application layers beyond SIP/SDP left out). */
const NAMES: Record<string, string> = {
  Ether: "eth",
  PPP: "ppp",
  IPv4: "ip",
  IPv6: "ipv6",
  UDP: "udp",
  TCP: "tcp",
  ICMP: "icmp",
  ICMPv6: "icmpv6",
};
const KEPT = new Set([...Object.values(NAMES), "pppoed", "pppoes"]);

describe("PPPoE against tshark", { skip: FILES.length === 0 }, () => {
  for (const name of FILES) {
    test(`${name}: layer stack, session id and PPP protocol as tshark`, () => {
      const file = join(REALCAPS, name);
      const theirs = tsharkFields(file, ["frame.protocols", "pppoe.session_id", "pppoe.code", "ppp.protocol"]);
      const ours = decodeCaptureFile(file);
      assert.equal(ours.length, theirs.length);
      ours.forEach(({ packet }, i) => {
        const [protocols, session, code, protocol] = theirs[i]!;
        const expected = protocols!.split(":").filter((p) => KEPT.has(p));
        const got = packet.layers
          .filter((l) => !l.quoted)
          .map((l) => (l.type === "PPPoE" ? (l.fields.code === 0 ? "pppoes" : "pppoed") : NAMES[l.type]))
          .filter((n): n is string => n !== undefined);
        assert.deepEqual(got, expected, `${name} #${i + 1}`);
        const layer = packet.get("PPPoE");
        assert.ok(layer, `${name} #${i + 1}: PPPoE layer`);
        assert.equal(layer.fields.session, Number(session), `${name} #${i + 1}: session`);
        assert.equal(layer.fields.code, Number(code), `${name} #${i + 1}: code`);
        if (protocol) assert.equal(packet.get("PPP")?.fields.protocol, Number(protocol), `${name} #${i + 1}: PPP`);
      });
    });
  }

  test("every comparable field (addresses, ports, lengths, checksums…) equals tshark's inside PPPoE", () => {
    for (const name of FILES) {
      // SIP/SDP bodies the slow path leaves Raw (not re-encodable byte for byte) are not PPPoE's concern.
      const result = compareWithTshark(
        join(REALCAPS, name),
        COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp.")),
      );
      assert.deepEqual(result.mismatches, [], name);
    }
  });

  test("decoded packets encode back to their bytes", () => {
    for (const name of FILES) {
      for (const { packet, bytes } of decodeCaptureFile(join(REALCAPS, name))) {
        assert.deepEqual(packet.bytes(), bytes, name);
      }
    }
  });

  test("SIP inside PPPoE: the fast path finds every SIP message tshark finds (DTMFsipinfo.pcap)", () => {
    const file = join(REALCAPS, "voip/DTMFsipinfo.pcap");
    const theirs = tsharkFields(file, ["sip.Method", "sip.Status-Code", "sip.Call-ID"], ["-Y", "sip"]);
    const d = new Dissection();
    const ours: string[][] = [];
    readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
      if (d.payloadOffset < 0 || d.pppoeSession !== 0x18e5) return;
      const message = decodeSip(r.buffer, d.payloadOffset, d.capturedPayloadLength).message;
      if (message === null) return;
      const callId = message.headers.find((h) => h.name.toLowerCase() === "call-id" || h.name === "i")?.value ?? "";
      ours.push(message.kind === "request" ? [message.method, "", callId] : ["", String(message.statusCode), callId]);
    });
    assert.equal(ours.length, 32);
    assert.deepEqual(ours, theirs);
  });

  test("fast path: addresses, protocol and ports of the IP inside the session, as tshark", () => {
    for (const name of FILES) {
      const file = join(REALCAPS, name);
      const theirs = tsharkFields(file, [
        "ip.src",
        "ip.proto",
        "udp.srcport",
        "tcp.srcport",
        "udp.dstport",
        "tcp.dstport",
      ]);
      const d = new Dissection();
      let i = 0;
      readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
        dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
        const [src, proto, usport, tsport, udport, tdport] = theirs[i++]!;
        const ip =
          d.ipVersion === 4 ? [d.src4 >>> 24, (d.src4 >>> 16) & 255, (d.src4 >>> 8) & 255, d.src4 & 255].join(".") : "";
        assert.equal(ip, src, `${name} #${i}`);
        assert.equal(d.ipVersion === 4 ? String(d.ipProto) : "", proto, `${name} #${i}`);
        assert.equal(d.srcPort === 0 ? "" : String(d.srcPort), usport || tsport, `${name} #${i}`);
        assert.equal(d.dstPort === 0 ? "" : String(d.dstPort), udport || tdport, `${name} #${i}`);
        assert.equal(d.anomalies, 0, `${name} #${i}`);
        if (d.ipVersion !== 0) assert.equal(d.etherType, d.ipVersion === 4 ? 0x0800 : 0x86dd);
      });
    }
  });

  test("builder: Ether / PPPoE / PPP / IPv4 / UDP, types and lengths filled, decoded as built", () => {
    const packet = stack(ether(), pppoe({ session: 0x27 }), ppp(), ipv4(), udp({ dport: 5060 }), raw("hello"));
    const bytes = packet.bytes();
    assert.equal((bytes[12]! << 8) | bytes[13]!, 0x8864);
    assert.equal((bytes[18]! << 8) | bytes[19]!, 8 + 20 + 2 + 5 + 0); // PPPoE length: PPP + IP + UDP + payload
    assert.equal((bytes[20]! << 8) | bytes[21]!, 0x0021);
    const decoded = decodePacket(bytes, 1);
    assert.equal(
      decoded.summary(),
      "Ether / PPPoE session=0x0027 / PPP IPv4 / IP 10.77.0.1 > 10.77.0.2 / UDP 5004 > 5060 len=5 / Raw 5 bytes",
    );
    const record = {
      buffer: bytes,
      offset: 0,
      caplen: bytes.length,
      origlen: bytes.length,
      linkType: 1,
      tsSec: 0,
      tsNsec: 0,
    };
    assert.ok(compileFilter("pppoes 0x27 and udp port 5060").matchesRecord(record as never));
    assert.ok(!compileFilter("udp port 5060").matchesRecord(record as never));
    const six = stack(ether(), pppoe(), ppp(), ipv6(), udp()).bytes();
    assert.equal((six[20]! << 8) | six[21]!, 0x0057);
    const discovery = parseLayerSpec("ether/pppoe(code=0x09,session=0)").bytes();
    assert.equal((discovery[12]! << 8) | discovery[13]!, 0x8863);
    assert.equal(decodePacket(discovery, 1).summary(), "Ether / PPPoE PADI");
    assert.equal(parseLayerSpec("ether/pppoe(session=5)/ppp/ipv4/udp").resolved().get("PPP")?.fields.protocol, 0x21);
  });
});
