import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { formatIpv6 } from "../address-text.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect, dissectTunnelled } from "../dissect.ts";
import type { AnyLayer } from "../layer.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { layerDef } from "../registry.ts";
import { assertUndecodedHeader } from "./undecoded-header.ts";

const ipv4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

function ipv6Text(words: Uint32Array): string {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) view.setUint32(i * 4, words[i]!);
  return formatIpv6(bytes);
}

/** The innermost IP layer after the first UDP tunnel layer, and the transport after it. */
function innerEnds(layers: readonly AnyLayer[]): { ip?: AnyLayer; transport?: AnyLayer } {
  const tunnel = layers.findIndex((l) => layerDef(l.type).udpPorts !== undefined);
  let ip: AnyLayer | undefined;
  let transport: AnyLayer | undefined;
  layers.forEach((l, i) => {
    if (i <= tunnel || l.quoted) return;
    if (l.type === "IPv4" || l.type === "IPv6") {
      ip = l;
      transport = undefined;
    } else if (ip !== undefined && transport === undefined && (l.type === "TCP" || l.type === "UDP")) transport = l;
  });
  return { ip, transport };
}

/**
 * For every packet of `file`: the fast path (`dissect`, then `dissectTunnelled` into a second
 * Dissection) reaches the packet inside a UDP tunnel whenever the slow decode has a tunnel layer,
 * with the slow decode's innermost addresses and ports and no anomaly, and finds nothing where
 * the slow decode has none. Returns how many packets had a tunnel walked into.
 */
export function assertTunnelFastPathAgrees(file: string): number {
  const outer = new Dissection();
  const inner = new Dissection();
  let tunnelled = 0;
  let n = 0;
  readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
    n++;
    const where = `${file.split("/").slice(-2).join("/")} #${n}`;
    dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, outer);
    const bytes = r.buffer.slice(r.offset, r.offset + r.caplen);
    const slow = decodePacket(bytes, r.linkType, { wireLength: r.origlen });
    const hasTunnel = slow.layers.some((l) => layerDef(l.type).udpPorts !== undefined);
    const walked = dissectTunnelled(r.buffer, outer, inner);
    if (hasTunnel) assert.ok(walked, `${where}: the fast path did not read the tunnel (${slow.summary()})`);
    if (!hasTunnel || !walked) {
      // A tunnel's port with no tunnel read (a UDP length under 8): nothing found inside either.
      if (walked) assert.deepEqual([inner.l3Offset, inner.anomalies], [-1, 0], `${where}: ${slow.summary()}`);
      return;
    }
    tunnelled++;
    const { ip, transport } = innerEnds(slow.layers);
    if (ip === undefined) {
      assert.equal(inner.l3Offset < 0 || inner.ipVersion === 0, true, `${where}: no IP inside, fast path found one`);
      return;
    }
    assert.equal(inner.anomalies, 0, `${where}: fast-path anomalies`);
    assert.equal(inner.tunnelDepth >= 1, true, where);
    if (ip.type === "IPv4") {
      assert.equal(inner.ipVersion, 4, where);
      assert.deepEqual([ipv4Text(inner.src4), ipv4Text(inner.dst4)], [ip.fields.src, ip.fields.dst], where);
    } else if (ip.type === "IPv6") {
      assert.equal(inner.ipVersion, 6, where);
      assert.deepEqual([ipv6Text(inner.src6), ipv6Text(inner.dst6)], [ip.fields.src, ip.fields.dst], where);
    }
    if (transport?.type === "TCP" || transport?.type === "UDP") {
      assert.deepEqual([inner.srcPort, inner.dstPort], [transport.fields.sport, transport.fields.dport], where);
    }
  });
  return tunnelled;
}

/**
 * A UDP tunnel header of the Ethernet frame `full` cut by the snaplen at each of `lengths`: the
 * slow path shows `layer` undecoded and truncated, and `dissectTunnelled` finds the tunnel and
 * flags it truncated.
 */
export function assertTunnelHeaderCut(full: Uint8Array, lengths: readonly number[], layer: string): void {
  for (const length of lengths) {
    const cut = full.subarray(0, length);
    const expected = { layer, code: "truncated", bit: 0, wireLength: full.length };
    const outer = assertUndecodedHeader(cut, LinkType.ETHERNET, expected);
    const inner = new Dissection();
    assert.ok(dissectTunnelled(cut, outer, inner), `${layer} cut at ${length}: the tunnel is read`);
    assert.equal(inner.anomalies, Anomaly.TRUNCATED, `${layer} cut at ${length}`);
  }
}
