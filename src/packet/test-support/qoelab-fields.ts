import { formatHex } from "../address-text.ts";
import { CHECKSUM_STATUS_NUMBER, type ChecksumStatus } from "../anomaly.ts";
import { readU16, readU32 } from "../byte-order.ts";
import type { AnyLayer, Layer } from "../layer.ts";
import { geneveOptionTypeByte } from "../layers/geneve.ts";
import { greFlagsAndVersion } from "../layers/gre.ts";
import { dot11Addresses } from "../layers/ieee80211.ts";
import { ipoibAddressing } from "../layers/ipoib.ts";
import { ipv4FinalDestination } from "../layers/ipv4.ts";
import { NflogTlvType, nflogTimestamp } from "../layers/nflog.ts";
import { PpiFieldType, ppi80211Common, ppiFields } from "../layers/ppi.ts";
import { encodeRadiotapHeader, radiotapDataRates, radiotapValues, radiotapVhtUsers } from "../layers/radiotap.ts";
import { encodeLayers, type Packet } from "../packet.ts";
import { TcpOptionKind } from "../protocol-numbers.ts";

/**
 * The values qoelab decoded for tshark field names, formatted the way `tshark -T fields` prints
 * them (every occurrence joined with ","), so a test can compare row by row with `tsharkFields`.
 * Run tshark with `-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE
 * -o tcp.relative_sequence_numbers:FALSE -o ip.defragment:FALSE -o ipv6.defragment:FALSE`
 * (`TSHARK_COMPARE_ARGS`).
 */
export const TSHARK_COMPARE_ARGS: readonly string[] = [
  "-o",
  "ip.check_checksum:TRUE",
  "-o",
  "tcp.check_checksum:TRUE",
  "-o",
  "udp.check_checksum:TRUE",
  "-o",
  "tcp.relative_sequence_numbers:FALSE",
  "-o",
  "tcp.analyze_sequence_numbers:FALSE",
  "-o",
  "ip.defragment:FALSE",
  "-o",
  "ipv6.defragment:FALSE",
  "--enable-heuristic",
  "rtp_udp",
  "--enable-heuristic",
  "rtcp_udp",
];

/**
 * Radiotap, PPI, 802.11 and LLC fields `qoelabField` knows: compared on wireless captures only
 * (tshark shows llc.* on 802.3 frames qoelab does not decode as LLC).
 */
export const WIRELESS_FIELDS: readonly string[] = [
  "radiotap.version",
  "radiotap.pad",
  "radiotap.length",
  "radiotap.present.word",
  "radiotap.flags",
  "radiotap.datarate",
  "radiotap.channel.freq",
  "radiotap.channel.flags",
  "radiotap.dbm_antsignal",
  "radiotap.dbm_antnoise",
  "radiotap.antenna",
  "radiotap.mactime",
  "radiotap.rxflags",
  "radiotap.mcs.index",
  "radiotap.ampdu.reference",
  "radiotap.vht.bw",
  "radiotap.vht.datarate.0",
  "radiotap.vht.datarate.1",
  "radiotap.vht.datarate.2",
  "radiotap.vht.datarate.3",
  "ppi.version",
  "ppi.flags",
  "ppi.length",
  "ppi.dlt",
  "ppi.field_type",
  "ppi.field_len",
  "ppi.80211-common.flags",
  "ppi.80211-common.chan.freq",
  "ppi.80211-common.dbm.antsignal",
  "wlan.fc.type_subtype",
  "wlan.flags",
  "wlan.duration",
  "wlan.ra",
  "wlan.ta",
  "wlan.da",
  "wlan.sa",
  "wlan.bssid",
  "wlan.seq",
  "wlan.frag",
  "wlan.qos",
  "wlan.htc",
  "wlan.fcs",
  "llc.dsap",
  "llc.ssap",
  "llc.type",
];

/** Fields `qoelabField` knows, i.e. the ones a comparison can use. */
export const COMPARABLE_FIELDS: readonly string[] = [
  "eth.src",
  "eth.dst",
  "eth.type",
  "vlan.id",
  "vlan.priority",
  "vlan.etype",
  "ieee8021ad.id",
  "sll.pkttype",
  "sll.etype",
  "chdlc.address",
  "chdlc.protocol",
  "ppp.address",
  "ppp.control",
  "ppp.protocol",
  "arp.opcode",
  "arp.src.hw_mac",
  "arp.src.hw",
  "arp.src.proto_ipv4",
  "arp.dst.proto_ipv4",
  "ip.src",
  "ip.dst",
  "ip.ttl",
  "ip.id",
  "ip.flags.df",
  "ip.flags.mf",
  "ip.frag_offset",
  "ip.proto",
  "ip.len",
  "ip.hdr_len",
  "ip.dsfield",
  "ip.checksum",
  "ip.checksum.status",
  "ip.opt.type",
  "ipv6.src",
  "ipv6.dst",
  "ipv6.hlim",
  "ipv6.nxt",
  "ipv6.plen",
  "ipv6.flow",
  "ipv6.fraghdr.ident",
  "tcp.srcport",
  "tcp.dstport",
  "tcp.seq_raw",
  "tcp.ack_raw",
  "tcp.flags",
  "tcp.window_size_value",
  "tcp.hdr_len",
  "tcp.urgent_pointer",
  "tcp.checksum",
  "tcp.checksum.status",
  "tcp.option_kind",
  "tcp.options.mss_val",
  "tcp.options.wscale.shift",
  "tcp.options.sack_le",
  "tcp.options.sack_re",
  "tcp.options.timestamp.tsval",
  "tcp.options.timestamp.tsecr",
  "udp.srcport",
  "udp.dstport",
  "udp.length",
  "udp.checksum",
  "udp.checksum.status",
  "icmp.type",
  "icmp.code",
  "icmp.checksum",
  "icmp.checksum.status",
  "icmp.ident",
  "icmp.seq",
  "icmpv6.type",
  "icmpv6.code",
  "icmpv6.checksum",
  "icmpv6.checksum.status",
  "icmpv6.nd.ns.target_address",
  "icmpv6.nd.na.target_address",
  "icmpv6.echo.identifier",
  "icmpv6.echo.sequence_number",
  "rtp.seq",
  "rtp.timestamp",
  "rtp.ssrc",
  "rtp.p_type",
  "rtp.marker",
  "rtcp.pt",
  "rtcp.senderssrc",
  "sip.Method",
  "sip.Status-Code",
  "sip.Call-ID",
  "sdp.media.port",
  "gre.flags_and_version",
  "gre.proto",
  "gre.checksum",
  "gre.checksum.status",
  "gre.offset",
  "gre.key",
  "gre.key.payload_length",
  "gre.key.call_id",
  "gre.sequence_number",
  "gre.ack_number",
  "erspan.version",
  "erspan.vlan",
  "erspan.cos",
  "erspan.encap",
  "erspan.bso",
  "erspan.truncated",
  "erspan.spanid",
  "erspan.index",
  "erspan.timestamp",
  "erspan.sgt",
  "erspan.p",
  "erspan.ft",
  "erspan.hw",
  "erspan.direction",
  "erspan.gra",
  "erspan.o",
  "mpls.label",
  "mpls.exp",
  "mpls.bottom",
  "mpls.ttl",
  "ah.next_header",
  "ah.length",
  "ah.spi",
  "ah.sequence",
  "ah.icv",
  "nflog.family",
  "nflog.version",
  "nflog.res_id",
  "nflog.tlv",
  "nflog.tlv_length",
  "nflog.tlv_type",
  "nflog.protocol",
  "nflog.hook",
  "nflog.ifindex_indev",
  "nflog.ifindex_outdev",
  "nflog.ifindex_physindev",
  "nflog.ifindex_physoutdev",
  "nflog.prefix",
  "nflog.uid",
  "nflog.gid",
  "nflog.timestamp",
  "nflog.tlv_value",
  "ipoib.type",
  "ipoib.reserved",
  "ipoib.daddr",
  "ipoib.daddr.qpn",
  "ipoib.dgid",
  "ipoib.grh",
  "ipoib.grh.ipver",
  "ipoib.grh.tclass",
  "ipoib.grh.flowlabel",
  "ipoib.grh.sqpn",
  "ipoib.grh.sgid",
  "vxlan.flags",
  "vxlan.gbp",
  "vxlan.reserved_16",
  "vxlan.next_proto",
  "vxlan.vni",
  "vxlan.reserved8",
  "geneve.version",
  "geneve.flags",
  "geneve.proto_type",
  "geneve.vni",
  "geneve.reserved",
  "geneve.option.class",
  "geneve.option.type",
  "geneve.option.flags",
  "geneve.option.length",
  "gtp.flags",
  "gtp.message",
  "gtp.length",
  "gtp.teid",
  "gtp.seq_number",
  "gtp.npdu_number",
  "gtp.ext_hdr.next",
  "gtp.ext_hdr.length",
  "nsh.version",
  "nsh.Obit",
  "nsh.CBit",
  "nsh.ttl",
  "nsh.length",
  "nsh.mdtype",
  "nsh.nextproto",
  "nsh.spi",
  "nsh.si",
  "nsh.contextheader",
  "nsh.metadataclass",
  "nsh.metadatatype",
  "nsh.metadataunassignedbit",
  "nsh.metadatalen",
  "nsh.metadata",
  "macsec.TCI",
  "macsec.TCI.V",
  "macsec.TCI.ES",
  "macsec.TCI.SC",
  "macsec.TCI.SCB",
  "macsec.TCI.E",
  "macsec.TCI.C",
  "macsec.AN",
  "macsec.SL",
  "macsec.PN",
  "macsec.SCI.system_identifier",
  "macsec.SCI.port_identifier",
  "macsec.etype",
  "macsec.ICV",
];

const hexN = (value: number | undefined, digits: number) =>
  value === undefined ? undefined : `0x${value.toString(16).padStart(digits, "0")}`;

/** tshark's two fields of a layer's checksum under `proto`: the value (0x%04x) and how it verified (a number). */
function checksumFields(
  proto: string,
  layer: { fields: { checksum?: number }; checksumStatus?: ChecksumStatus },
): Record<string, string | undefined> {
  const s = layer.checksumStatus;
  return {
    [`${proto}.checksum`]: hexN(layer.fields.checksum, 4),
    [`${proto}.checksum.status`]: s === undefined ? undefined : String(CHECKSUM_STATUS_NUMBER[s]),
  };
}

/** The header fields ICMP and ICMPv6 share, each under its own prefix: type, code and the checksum's. */
function icmpHeaderFields(
  proto: "icmp" | "icmpv6",
  layer: Layer<"ICMP"> | Layer<"ICMPv6">,
): Record<string, string | undefined> {
  return {
    [`${proto}.type`]: String(layer.fields.type),
    [`${proto}.code`]: String(layer.fields.code),
    ...checksumFields(proto, layer),
  };
}

function tcpOptionValues(layer: Layer<"TCP">, kind: number, read: (d: Uint8Array) => (number | undefined)[]): string[] {
  const out: string[] = [];
  for (const o of layer.fields.options) {
    if (o.kind === kind && !o.raw) for (const v of read(o.data)) if (v !== undefined) out.push(String(v));
  }
  return out;
}

function sackEdges(data: Uint8Array, right: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i + 8 <= data.length; i += 8) out.push(readU32(data, i + (right ? 4 : 0)));
  return out;
}

/** The value of `field` when the layer's table names it (a one-element list), else none. */
function pick(field: string, table: Record<string, string | undefined>): (string | undefined)[] {
  return field in table ? [table[field]] : [];
}

/** The values of one field in one layer, or undefined for an unknown field; `inner` encodes the layers inside it. */
function values(
  layer: AnyLayer,
  field: string,
  previous: AnyLayer | undefined,
  inner: () => Uint8Array,
): (string | undefined)[] | undefined {
  const outerType =
    previous?.type === "Ether" || previous?.type === "Dot1Q"
      ? previous.fields.type
      : previous?.type === "SLL" || previous?.type === "SLL2"
        ? previous.fields.protocol
        : undefined;
  const serviceTag = outerType === 0x88a8;
  const [proto] = field.split(".");
  switch (layer.type) {
    case "Ether": {
      const f = layer.fields;
      if (field === "eth.src") return [f.src];
      if (field === "eth.dst") return [f.dst];
      // An 802.3 length (<= 1500) is eth.len to tshark, not eth.type.
      if (field === "eth.type") return [f.type !== undefined && f.type <= 1500 ? undefined : hexN(f.type, 4)];
      return proto === "eth" ? undefined : [];
    }
    case "Dot1Q": {
      const f = layer.fields;
      // tshark decodes a tag behind TPID 0x88a8 as ieee8021ad, not vlan.
      if (serviceTag) return field === "ieee8021ad.id" ? [String(f.vlan)] : [];
      if (field === "vlan.id") return [String(f.vlan)];
      if (field === "vlan.priority") return [String(f.prio)];
      if (field === "vlan.etype") return [f.type !== undefined && f.type <= 1500 ? undefined : hexN(f.type, 4)];
      return [];
    }
    case "SLL":
    case "SLL2": {
      if (field === "sll.pkttype") return [String(layer.fields.pktType)];
      if (field === "sll.etype") return [hexN(layer.fields.protocol, 4)];
      return [];
    }
    case "CiscoHDLC":
      return pick(field, {
        "chdlc.address": hexN(layer.fields.address, 2),
        "chdlc.protocol": hexN(layer.fields.protocol, 4),
      });
    case "HDLC":
      return pick(field, {
        "ppp.address": hexN(layer.fields.address, 2),
        "ppp.control": hexN(layer.fields.control, 2),
      });
    case "PPP":
      return pick(field, { "ppp.protocol": hexN(layer.fields.protocol, 4) });
    case "ARP": {
      const f = layer.fields;
      if (field === "arp.opcode") return [String(f.op)];
      // tshark shows a 6-byte hardware address as a MAC, others (InfiniBand's 20 bytes) as bytes.
      if (field === "arp.src.hw_mac") return f.hwLength === 6 ? [f.hwSrc] : [];
      if (field === "arp.src.hw") return f.hwLength === 6 ? [] : [f.hwSrc];
      if (field === "arp.src.proto_ipv4") return [f.protoSrc];
      if (field === "arp.dst.proto_ipv4") return [f.protoDst];
      return [];
    }
    case "IPv4": {
      const f = layer.fields;
      const map: Record<string, string | undefined> = {
        "ip.src": f.src,
        // tshark reports the final destination of an unfinished source route as ip.dst.
        "ip.dst": ipv4FinalDestination(f),
        "ip.ttl": String(f.ttl),
        "ip.id": hexN(f.id, 4),
        "ip.flags.df": String(f.df),
        "ip.flags.mf": String(f.mf),
        "ip.frag_offset": String(f.fragOffset),
        "ip.proto": String(f.protocol),
        "ip.len": String(f.totalLength),
        "ip.hdr_len": f.ihl === undefined ? undefined : String(f.ihl * 4),
        "ip.dsfield": hexN(f.tos, 2),
        ...checksumFields("ip", layer),
      };
      if (field === "ip.opt.type") {
        // tshark lists one ip.opt.type per option, EOL and NOP included.
        return f.options.map((o) => String(o.type));
      }
      return pick(field, map);
    }
    case "IPv6": {
      const f = layer.fields;
      const fragment = f.extensions.find((e) => e.type === 44);
      if (proto === "ah") {
        // tshark decodes IPv6's AH extension headers under ah.*, as IPv4's AH layer.
        return f.extensions
          .filter((e) => e.type === 51)
          .flatMap((e) =>
            pick(field, ahFields(e.nextHeader, e.length, readU32(e.data, 2), readU32(e.data, 6), e.data.subarray(10))),
          );
      }
      return pick(field, {
        "ipv6.src": f.src,
        "ipv6.dst": f.dst,
        "ipv6.hlim": String(f.hopLimit),
        "ipv6.nxt": String(f.nextHeader),
        "ipv6.plen": String(f.payloadLength),
        "ipv6.flow": hexN(f.flowLabel, 6),
        "ipv6.fraghdr.ident": fragment ? hexN(readU32(fragment.data, 2), 8) : undefined,
      });
    }
    case "TCP": {
      const f = layer.fields;
      const map: Record<string, string | undefined> = {
        "tcp.srcport": String(f.sport),
        "tcp.dstport": String(f.dport),
        "tcp.seq_raw": String(f.seq),
        "tcp.ack_raw": String(f.ack),
        "tcp.flags": hexN(f.flags, 4),
        "tcp.window_size_value": String(f.window),
        "tcp.hdr_len": f.dataOffset === undefined ? undefined : String(f.dataOffset * 4),
        "tcp.urgent_pointer": String(f.urgentPointer),
        ...checksumFields("tcp", layer),
      };
      // tshark lists every zero byte after an EOL as one more EOL.
      if (field === "tcp.option_kind") {
        return f.options.flatMap((o) => (o.kind === 0 ? Array(1 + o.data.length).fill("0") : [String(o.kind)]));
      }
      // tshark does not report the raw sequence number of a TCP header quoted in an ICMP error.
      if (field === "tcp.seq_raw" && layer.quoted) return [];
      if (field === "tcp.options.mss_val") return tcpOptionValues(layer, TcpOptionKind.MSS, (d) => [readU16(d, 0)]);
      if (field === "tcp.options.wscale.shift")
        return tcpOptionValues(layer, TcpOptionKind.WINDOW_SCALE, (d) => [d[0]]);
      if (field === "tcp.options.sack_le")
        return tcpOptionValues(layer, TcpOptionKind.SACK, (d) => sackEdges(d, false));
      if (field === "tcp.options.sack_re") return tcpOptionValues(layer, TcpOptionKind.SACK, (d) => sackEdges(d, true));
      if (field === "tcp.options.timestamp.tsval") {
        return tcpOptionValues(layer, TcpOptionKind.TIMESTAMPS, (d) => [readU32(d, 0)]);
      }
      if (field === "tcp.options.timestamp.tsecr") {
        return tcpOptionValues(layer, TcpOptionKind.TIMESTAMPS, (d) => [readU32(d, 4)]);
      }
      return pick(field, map);
    }
    case "UDP": {
      const f = layer.fields;
      return pick(field, {
        "udp.srcport": String(f.sport),
        "udp.dstport": String(f.dport),
        "udp.length": String(f.length),
        ...checksumFields("udp", layer),
      });
    }
    case "ICMP": {
      const f = layer.fields;
      return pick(field, {
        ...icmpHeaderFields("icmp", layer),
        "icmp.ident": f.id === undefined ? undefined : String(f.id),
        "icmp.seq": f.seq === undefined ? undefined : String(f.seq),
      });
    }
    case "ICMPv6": {
      const f = layer.fields;
      return pick(field, {
        ...icmpHeaderFields("icmpv6", layer),
        "icmpv6.nd.ns.target_address": f.type === 135 ? f.target : undefined,
        "icmpv6.nd.na.target_address": f.type === 136 ? f.target : undefined,
        "icmpv6.echo.identifier": f.id === undefined ? undefined : hexN(f.id, 4),
        "icmpv6.echo.sequence_number": f.seq === undefined ? undefined : String(f.seq),
      });
    }
    case "RTP": {
      const f = layer.fields;
      return pick(field, {
        "rtp.seq": String(f.sequence),
        "rtp.timestamp": String(f.timestamp),
        "rtp.ssrc": hexN(f.ssrc, 8),
        "rtp.p_type": String(f.payloadType),
        "rtp.marker": f.marker ? "1" : "0",
      });
    }
    case "RTCP": {
      if (field === "rtcp.pt") {
        return layer.fields.packets.map((p) => String(p.kind === "unknown" ? p.packetType : RTCP_TYPE[p.kind]));
      }
      if (field === "rtcp.senderssrc") {
        // tshark's rtcp.senderssrc is the SSRC of SR and RR packets.
        return layer.fields.packets.flatMap((p) => (p.kind === "sr" || p.kind === "rr" ? [hexN(p.ssrc, 8)] : []));
      }
      return [];
    }
    case "SIP": {
      const f = layer.fields;
      if (field === "sip.Method") return f.kind === "request" ? [f.method] : [];
      if (field === "sip.Status-Code") return f.kind === "response" ? [String(f.statusCode)] : [];
      if (field === "sip.Call-ID") {
        return f.headers.filter((h) => /^(call-id|i)$/i.test(h.name)).map((h) => h.value);
      }
      return [];
    }
    case "SDP":
      return field === "sdp.media.port" ? layer.fields.media.map((m) => String(m.port)) : [];
    case "GRE": {
      const f = layer.fields;
      return pick(field, {
        "gre.flags_and_version": hexN(greFlagsAndVersion(f), 4),
        "gre.proto": hexN(f.protocol, 4),
        ...(f.checksumPresent ? checksumFields("gre", layer) : {}),
        "gre.offset": f.reserved1 === undefined ? undefined : String(f.reserved1),
        "gre.key": hexN(f.key, 8),
        "gre.key.payload_length": f.payloadLength === undefined ? undefined : String(f.payloadLength),
        "gre.key.call_id": f.callId === undefined ? undefined : String(f.callId),
        "gre.sequence_number": f.sequence === undefined ? undefined : String(f.sequence),
        "gre.ack_number": f.ack === undefined ? undefined : String(f.ack),
      });
    }
    case "ERSPAN": {
      const f = layer.fields;
      const str = (v: number | undefined) => (v === undefined ? undefined : String(v));
      const three = f.version === 2;
      return pick(field, {
        "erspan.version": String(f.version),
        "erspan.vlan": String(f.vlan),
        "erspan.cos": String(f.cos),
        // The same two bits: En in type II, BSO in type III.
        [three ? "erspan.bso" : "erspan.encap"]: String(f.encap),
        "erspan.truncated": String(f.truncated),
        "erspan.spanid": String(f.sessionId),
        "erspan.index": str(f.index),
        "erspan.timestamp": str(f.timestamp),
        "erspan.sgt": str(f.sgt),
        "erspan.p": str(f.p),
        "erspan.ft": str(f.ft),
        "erspan.hw": str(f.hwId),
        "erspan.direction": str(f.direction),
        "erspan.gra": str(f.gra),
        "erspan.o": str(f.o),
      });
    }
    case "MPLS": {
      const f = layer.fields;
      return pick(field, {
        "mpls.label": String(f.label),
        "mpls.exp": String(f.tc),
        "mpls.bottom": f.s === undefined ? undefined : String(f.s),
        "mpls.ttl": String(f.ttl),
      });
    }
    case "AH": {
      const f = layer.fields;
      return pick(field, ahFields(f.nextHeader, f.length, f.spi, f.sequence, f.icv));
    }
    case "NFLOG":
      return proto === "nflog" ? nflogValues(layer, field, inner) : [];
    case "IPoIB": {
      const f = layer.fields;
      const a = ipoibAddressing(f);
      const g = a.grh;
      return pick(field, {
        "ipoib.type": hexN(f.type, 4),
        "ipoib.reserved": hexN(f.reserved, 4),
        // Labels without a value of their own: tshark prints 1 where it shows them.
        "ipoib.daddr": a.daddr ? "1" : undefined,
        "ipoib.daddr.qpn": hexN(a.daddr?.qpn, 6),
        "ipoib.dgid": a.dgid,
        "ipoib.grh": g ? "1" : undefined,
        "ipoib.grh.ipver": g ? String(g.version) : undefined,
        "ipoib.grh.tclass": g ? String(g.trafficClass) : undefined,
        "ipoib.grh.flowlabel": g ? String(g.flowLabel) : undefined,
        "ipoib.grh.sqpn": hexN(g?.sqpn, 6),
        "ipoib.grh.sgid": g?.sgid,
      });
    }
    case "VXLAN": {
      const f = layer.fields;
      const gpe = f.gpe === true;
      // tshark splits VXLAN's first word in two: 16 flag bits and the group policy id (VXLAN-GBP).
      return pick(field, {
        "vxlan.flags": gpe ? hexN(f.flags, 2) : hexN((f.flags << 8) | (f.reserved1 >>> 16), 4),
        "vxlan.gbp": gpe ? undefined : String(f.reserved1 & 0xffff),
        "vxlan.reserved_16": gpe ? String(f.reserved1) : undefined,
        "vxlan.next_proto": gpe ? String(f.nextProtocol) : undefined,
        "vxlan.vni": String(f.vni),
        "vxlan.reserved8": String(f.reserved2),
      });
    }
    case "Geneve": {
      const f = layer.fields;
      const o = f.options;
      const table: Record<string, (string | undefined)[]> = {
        "geneve.version": [String(f.version)],
        "geneve.flags": [hexN(((f.oam & 1) << 7) | (((f.critical ?? 0) & 1) << 6) | f.reserved, 2)],
        "geneve.proto_type": [hexN(f.protocol, 4)],
        "geneve.vni": [hexN(f.vni, 6)],
        "geneve.reserved": [hexN(f.reserved2, 2)],
        "geneve.option.class": o.map((x) => hexN(x.optionClass, 4)),
        "geneve.option.type": o.map((x) => hexN(geneveOptionTypeByte(x), 2)),
        "geneve.option.flags": o.map((x) => hexN(x.reserved ?? 0, 2)),
        // The options' length, then each option's (its 4-byte header included).
        "geneve.option.length": [String((f.optionsLength ?? 0) * 4), ...o.map((x) => String(4 + (x.length ?? 0) * 4))],
      };
      return table[field] ?? [];
    }
    case "GTPU": {
      const f = layer.fields;
      const [e, s, pn] = [f.e ?? 0, f.s ?? 0, f.pn ?? 0];
      const flags = (f.version << 5) | (f.protocolType << 4) | (f.reserved << 3) | (e << 2) | (s << 1) | pn;
      const table: Record<string, (string | undefined)[]> = {
        "gtp.flags": [hexN(flags, 2)],
        "gtp.message": [hexN(f.messageType, 2)],
        "gtp.length": [String(f.length)],
        "gtp.teid": [hexN(f.teid, 8)],
        // tshark shows each optional field when its flag is set, the chain's types after the first.
        "gtp.seq_number": [s ? hexN(f.sequence, 4) : undefined],
        "gtp.npdu_number": [pn ? hexN(f.npdu, 2) : undefined],
        "gtp.ext_hdr.next": e
          ? [hexN(f.nextExtensionType, 2), ...f.extensions.map((_, i) => hexN(f.extensions[i + 1]?.type ?? 0, 2))]
          : [],
        "gtp.ext_hdr.length": f.extensions.map((x) => String(x.length)),
      };
      return table[field] ?? [];
    }
    case "NSH": {
      const f = layer.fields;
      const context = f.mdType === 1 ? (f.context ?? new Uint8Array(16)) : undefined;
      const tlvs = f.tlvs ?? [];
      const table: Record<string, (string | undefined)[]> = {
        "nsh.version": [String(f.version)],
        "nsh.Obit": [String(f.oam)],
        "nsh.CBit": [String(f.u)],
        "nsh.ttl": [hexN(f.ttl, 4)],
        "nsh.length": [f.length === undefined ? undefined : String(f.length)],
        // tshark shows the MD type's whole byte, the unassigned bits before it included.
        "nsh.mdtype": [String((f.reserved << 4) | f.mdType)],
        "nsh.nextproto": [f.nextProtocol === undefined ? undefined : String(f.nextProtocol)],
        "nsh.spi": [String(f.spi)],
        "nsh.si": [String(f.si)],
        // MD type 1: four 4-byte context headers.
        "nsh.contextheader": context ? [0, 4, 8, 12].map((i) => formatHex(context, i, i + 4)) : [],
        "nsh.metadataclass": tlvs.map((t) => String(t.metadataClass)),
        "nsh.metadatatype": tlvs.map((t) => String(t.type)),
        "nsh.metadataunassignedbit": tlvs.map((t) => hexN(t.unassigned ?? 0, 2)),
        "nsh.metadatalen": tlvs.map((t) => hexN(t.length ?? t.data.length, 2)),
        // tshark shows the metadata when its length is not 0.
        "nsh.metadata": tlvs.filter((t) => (t.length ?? t.data.length) > 0).map((t) => formatHex(t.data)),
      };
      return table[field] ?? [];
    }
    case "MACsec": {
      const f = layer.fields;
      const sc = f.sc ?? (f.sciSystem !== undefined ? 1 : 0);
      const flags = (f.es << 4) | (sc << 3) | (f.scb << 2) | (f.e << 1) | f.c;
      const encrypted = f.e !== 0 || f.c !== 0;
      return pick(field, {
        // The TCI's six bits (without AN), shifted down as tshark shows a masked field.
        "macsec.TCI": hexN((f.version << 5) | flags, 2),
        "macsec.TCI.V": hexN(f.version, 2),
        "macsec.TCI.ES": String(f.es),
        "macsec.TCI.SC": String(sc),
        "macsec.TCI.SCB": String(f.scb),
        "macsec.TCI.E": String(f.e),
        "macsec.TCI.C": String(f.c),
        "macsec.AN": hexN(f.an, 2),
        // tshark 4.0 shows the whole byte, the two reserved bits included.
        "macsec.SL": f.shortLength === undefined ? undefined : String((f.reserved << 6) | f.shortLength),
        "macsec.PN": String(f.pn),
        "macsec.SCI.system_identifier": sc ? f.sciSystem : undefined,
        "macsec.SCI.port_identifier": sc && f.sciPort !== undefined ? String(f.sciPort) : undefined,
        "macsec.etype": encrypted ? undefined : hexN(f.type, 4),
        "macsec.ICV": f.icv === undefined || f.icv.length === 0 ? undefined : formatHex(f.icv),
      });
    }
    case "Radiotap":
    case "PPI":
    case "Dot11":
    case "LLC":
      return wirelessValues(layer, field);
    default:
      return [];
  }
}

/** A single-precision float field (a data rate) as tshark prints it: 6 significant digits ("%.6g"), 72.2222, 300. */
export const tsharkFloat = (x: number): string => String(Number(Math.fround(x).toPrecision(6)));

/** The radiotap, PPI, 802.11 and LLC fields as tshark prints them. */
function wirelessValues(layer: Layer<"Radiotap"> | Layer<"PPI"> | Layer<"Dot11"> | Layer<"LLC">, field: string) {
  const str = (v: number | undefined) => (v === undefined ? undefined : String(v));
  switch (layer.type) {
    case "Radiotap": {
      const f = layer.fields;
      const header = encodeRadiotapHeader(f);
      const v = radiotapValues(header, 0, header.length);
      const vhtUsers = radiotapVhtUsers(v);
      const all = (name: string, i = 0, show: (x: number) => string = String) =>
        v.fields.filter((x) => x.name === name).map((x) => show(x.values[i] ?? 0));
      const table: Record<string, (string | undefined)[]> = {
        "radiotap.version": [str(f.version ?? 0)],
        "radiotap.pad": [str(f.pad ?? 0)],
        "radiotap.length": [str(f.length ?? header.length)],
        "radiotap.present.word": f.present.map((w) => hexN(w, 8)),
        "radiotap.flags": all("flags", 0, (x) => hexN(x, 2)!),
        // The Rate fields' rates and the ones derived from MCS fields, in field order.
        "radiotap.datarate": radiotapDataRates(v).map((r) => tsharkFloat(r.mbps)),
        "radiotap.channel.freq": all("channel"),
        "radiotap.channel.flags": all("channel", 1, (x) => hexN(x, 4)!),
        "radiotap.dbm_antsignal": all("dbmAntSignal"),
        "radiotap.dbm_antnoise": all("dbmAntNoise"),
        "radiotap.antenna": all("antenna"),
        "radiotap.mactime": all("tsft"),
        "radiotap.rxflags": all("rxFlags", 0, (x) => hexN(x, 4)!),
        // tshark shows the index when the known bits say it is known (0x02).
        "radiotap.mcs.index": v.fields
          .filter((x) => x.name === "mcs" && (x.values[0]! & 0x02) !== 0)
          .map((x) => String(x.values[2])),
        "radiotap.ampdu.reference": all("ampdu"),
        // tshark shows the bandwidth when the known bits say it is known (0x0040).
        "radiotap.vht.bw": v.fields
          .filter((x) => x.name === "vht" && (x.values[0]! & 0x40) !== 0)
          .map((x) => String(x.values[2])),
        ...Object.fromEntries(
          [0, 1, 2, 3].map((n) => [
            `radiotap.vht.datarate.${n}`,
            vhtUsers.filter((u) => u.user === n && u.tableMbps !== undefined).map((u) => tsharkFloat(u.tableMbps!)),
          ]),
        ),
      };
      return table[field] ?? [];
    }
    case "PPI": {
      const f = layer.fields;
      const tlvs = ppiFields(f.data, ((f.flags ?? 0) & 1) !== 0);
      const common = tlvs.filter((t) => t.type === PpiFieldType.codes.COMMON_80211).map((t) => ppi80211Common(t.value));
      const table: Record<string, (string | undefined)[]> = {
        "ppi.version": [str(f.version ?? 0)],
        "ppi.flags": [hexN(f.flags ?? 0, 2)],
        "ppi.length": [str(f.length ?? 8 + f.data.length)],
        "ppi.dlt": [str(f.dlt)],
        "ppi.field_type": tlvs.map((t) => String(t.type)),
        "ppi.field_len": tlvs.map((t) => String(t.value.length)),
        "ppi.80211-common.flags": common.map((c) => hexN(c?.flags, 4)),
        "ppi.80211-common.chan.freq": common.map((c) => str(c?.frequency)),
        "ppi.80211-common.dbm.antsignal": common.map((c) => str(c?.dbmAntSignal)),
      };
      return table[field] ?? [];
    }
    case "Dot11": {
      const f = layer.fields;
      const a = dot11Addresses(f);
      return pick(field, {
        "wlan.fc.type_subtype": hexN((f.type << 4) | f.subtype, 4),
        "wlan.flags": hexN(f.flags, 2),
        "wlan.duration": str(f.duration),
        "wlan.ra": a.ra,
        "wlan.ta": a.ta,
        "wlan.da": a.da,
        "wlan.sa": a.sa,
        "wlan.bssid": a.bssid,
        "wlan.seq": str(f.sequence),
        "wlan.frag": str(f.fragment),
        "wlan.qos": hexN(f.qos, 4),
        "wlan.htc": hexN(f.htc, 8),
        "wlan.fcs": typeof f.fcs === "number" ? hexN(f.fcs, 8) : undefined,
      });
    }
    case "LLC": {
      const f = layer.fields;
      return pick(field, {
        "llc.dsap": hexN(f.dsap, 2),
        "llc.ssap": hexN(f.ssap, 2),
        "llc.type": hexN(f.type, 4),
      });
    }
  }
}

/** tshark's AH fields (IPv4's AH layer and IPv6's AH extension header alike). */
function ahFields(
  nextHeader: number | undefined,
  length: number | undefined,
  spi: number,
  sequence: number,
  icv: Uint8Array,
): Record<string, string | undefined> {
  return {
    "ah.next_header": nextHeader === undefined ? undefined : String(nextHeader),
    "ah.length": length === undefined ? undefined : String(length),
    "ah.spi": hexN(spi, 8),
    "ah.sequence": String(sequence),
    "ah.icv": formatHex(icv),
  };
}

const NFLOG_TYPE = NflogTlvType.codes;

/** TLV types tshark shows a field of its own for, when the value has the length (-1: any but 0); others are nflog.tlv_value. */
const NFLOG_SHOWN: ReadonlyMap<number, number> = new Map([
  [NFLOG_TYPE.PACKET_HDR, 4],
  [NFLOG_TYPE.TIMESTAMP, 16],
  [NFLOG_TYPE.IFINDEX_INDEV, 4],
  [NFLOG_TYPE.IFINDEX_OUTDEV, 4],
  [NFLOG_TYPE.IFINDEX_PHYSINDEV, 4],
  [NFLOG_TYPE.IFINDEX_PHYSOUTDEV, 4],
  [NFLOG_TYPE.PREFIX, -1],
  [NFLOG_TYPE.UID, 4],
  [NFLOG_TYPE.GID, 4],
]);

const NFLOG_U32_FIELDS: Record<string, number> = {
  "nflog.ifindex_indev": NFLOG_TYPE.IFINDEX_INDEV,
  "nflog.ifindex_outdev": NFLOG_TYPE.IFINDEX_OUTDEV,
  "nflog.ifindex_physindev": NFLOG_TYPE.IFINDEX_PHYSINDEV,
  "nflog.ifindex_physoutdev": NFLOG_TYPE.IFINDEX_PHYSOUTDEV,
  "nflog.uid": NFLOG_TYPE.UID,
  "nflog.gid": NFLOG_TYPE.GID,
};

/** The NFLOG fields as tshark shows them, its TLVs in wire order with PAYLOAD (the encoded `inner` layers) at its place. */
function nflogValues(layer: Layer<"NFLOG">, field: string, inner: () => Uint8Array): (string | undefined)[] {
  const f = layer.fields;
  if (field === "nflog.family") return [String(f.family)];
  if (field === "nflog.version") return [String(f.version)];
  if (field === "nflog.res_id") return [String(f.resourceId)];
  const payload = f.payload;
  const index = payload === null ? -1 : Math.min(payload?.index ?? f.tlvs.length, f.tlvs.length);
  const tlvs: { type: number; value: Uint8Array; length: number; flag?: number; byteOrder?: "le" | "be" }[] = [];
  f.tlvs.forEach((t, i) => {
    if (i === index) tlvs.push(nflogPayloadTlv(f.payloadLength, payload ?? {}, inner()));
    tlvs.push({ ...t, length: 4 + t.value.length });
  });
  if (index === f.tlvs.length) tlvs.push(nflogPayloadTlv(f.payloadLength, payload ?? {}, inner()));
  const shown = (t: { type: number; value: Uint8Array }) => {
    const want = NFLOG_SHOWN.get(t.type);
    return t.type === NFLOG_TYPE.PAYLOAD || (want === -1 ? t.value.length > 0 : want === t.value.length);
  };
  const own = (type: number) => tlvs.filter((t) => t.type === type && shown(t)).map((t) => t.value);
  switch (field) {
    case "nflog.tlv":
      return tlvs.map((t) => {
        const header = new DataView(new ArrayBuffer(4));
        header.setUint16(0, t.length, t.byteOrder !== "be");
        header.setUint16(2, t.type | (t.flag ? 0x8000 : 0), t.byteOrder !== "be");
        return formatHex(new Uint8Array(header.buffer)) + formatHex(t.value);
      });
    case "nflog.tlv_length":
      return tlvs.map((t) => String(t.length));
    case "nflog.tlv_type":
      return tlvs.map((t) => String(t.type));
    case "nflog.tlv_value":
      return tlvs.filter((t) => !shown(t)).map((t) => formatHex(t.value));
    case "nflog.protocol":
      return own(NFLOG_TYPE.PACKET_HDR).map((v) => hexN(readU16(v, 0), 4));
    case "nflog.hook":
      return own(NFLOG_TYPE.PACKET_HDR).map((v) => String(v[2]));
    case "nflog.prefix":
      // An ASCII string up to its NUL; tshark prints an empty one as nothing.
      return own(NFLOG_TYPE.PREFIX).map((v) => {
        const nul = v.indexOf(0);
        const text = Array.from(nul < 0 ? v : v.subarray(0, nul), (b) =>
          b < 0x80 ? String.fromCharCode(b) : "\ufffd",
        );
        return text.join("");
      });
    case "nflog.timestamp":
      return own(NFLOG_TYPE.TIMESTAMP).map((v) => {
        const { sec, usec } = nflogTimestamp(v);
        return tsharkUtcTime(sec, usec * 1000);
      });
  }
  const u32Type = NFLOG_U32_FIELDS[field];
  if (u32Type === undefined) return [];
  // tshark's uid and gid are signed.
  return own(u32Type).map((v) =>
    String(field === "nflog.uid" || field === "nflog.gid" ? readU32(v, 0) | 0 : readU32(v, 0)),
  );
}

function nflogPayloadTlv(
  length: number | undefined,
  framing: { flag?: number; byteOrder?: "le" | "be"; trailer?: Uint8Array },
  packet: Uint8Array,
): { type: number; value: Uint8Array; length: number; flag?: number; byteOrder?: "le" | "be" } {
  const value = framing.trailer ? new Uint8Array([...packet, ...framing.trailer]) : packet;
  return { ...framing, type: NFLOG_TYPE.PAYLOAD, value, length: length ?? 4 + value.length };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An absolute time as tshark prints one (tsharkFields runs it with TZ=UTC): "Sep  6, 2013 18:31:58.614652000 UTC". */
function tsharkUtcTime(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  const day = String(d.getUTCDate()).padStart(2, " ");
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${MONTHS[d.getUTCMonth()]} ${day}, ${d.getUTCFullYear()} ${time}.${String(nsec).padStart(9, "0")} UTC`;
}

const RTCP_TYPE: Record<string, number> = {
  sr: 200,
  rr: 201,
  sdes: 202,
  bye: 203,
  app: 204,
  rtpfb: 205,
  psfb: 206,
  xr: 207,
};

/** One field as tshark would print it for this packet ("" when absent). */
export function qoelabField(packet: Packet, field: string, skip?: (layer: AnyLayer) => boolean): string {
  if (!COMPARABLE_FIELDS.includes(field) && !WIRELESS_FIELDS.includes(field))
    throw new Error(`qoelabField: no mapping for tshark field ${field}`);
  const out: string[] = [];
  packet.layers.forEach((layer, i) => {
    if (skip?.(layer)) return;
    const inner = () => encodeLayers(withoutTrailer(packet.layers.slice(i + 1)));
    for (const v of values(layer, field, packet.layers[i - 1], inner) ?? []) if (v !== undefined) out.push(v);
  });
  return out.join(",");
}

/** Layers without the link-layer trailer (`Padding`) after them. */
function withoutTrailer(layers: readonly AnyLayer[]): readonly AnyLayer[] {
  let last = layers.length;
  while (last > 0 && layers[last - 1]!.type === "Padding") last--;
  return layers.slice(0, last);
}

/** Row of `qoelabField` values for `fields` (first may be "frame.number", given as `number`). */
export function qoelabFields(packet: Packet, fields: readonly string[], number: number): string[] {
  return fields.map((f) => (f === "frame.number" ? String(number) : qoelabField(packet, f)));
}
