import { execFileSync } from "node:child_process";
import { QoelabError } from "../errors.ts";
import {
  type AnyLayer,
  BUILDER_DEFAULTS,
  compileFilter,
  decodePacket,
  LinkType,
  Packet,
  type PacketRecord,
  parseLayerSpec,
} from "../packet/index.ts";
import { answers } from "./answers.ts";
import { setPacketTime } from "./packet-time.ts";
import { rawsockAddon } from "./rawsock-addon.ts";

/*
 * Scapy's send / sr / sr1 / sniff for qoelab's packets. A packet whose first layer is IPv4 or IPv6
 * goes out of a raw IP socket (the kernel routes it; layer 3), one that starts with Ethernet out of
 * a packet socket on an interface (layer 2). Answers are read from a packet socket opened before
 * the first send, on the interface or on every interface of the namespace, and matched with
 * `answers`. With `netns` (a lab host's namespace, e.g. "qoelab-lab-client") both sockets are made
 * inside it: the calling thread enters the namespace for the socket() call and comes straight back,
 * so nothing else of this process moves. Needs root (CAP_NET_RAW) and the native addon.
 *
 * Fields left at the builder's defaults that cannot be right on this machine are filled before
 * sending, as Scapy does: the IP source becomes the route's source address towards the destination
 * (when it is the builder's default 10.77.0.1 / fd00:77::1), and a default Ethernet source/destination
 * the interface's MAC / the next hop's (from the neighbour table, else broadcast). Give them
 * explicitly (or `fill: false`) to send exactly what was built.
 */

export interface NetOptions {
  /** Network namespace name (as `ip netns` lists it), e.g. a lab host's "qoelab-lab-client". */
  netns?: string;
  /** Interface: where layer-2 packets leave, and where answers are read (default: all). */
  iface?: string;
}

export interface SendOptions extends NetOptions {
  /** Copies of each packet (default 1). */
  count?: number;
  /** Pause between two sends, ms (default 0). */
  interMs?: number;
  /** Fill default addresses from the route and neighbour table (default true). */
  fill?: boolean;
}

export interface SrOptions extends SendOptions {
  /** How long to wait for answers after the last send, ms (default 2000). */
  timeoutMs?: number;
}

export interface SentPacket {
  packet: Packet;
  /** Epoch ms when it left. */
  sentAt: number;
}

export interface AnsweredPair {
  sent: Packet;
  answer: Packet;
  /** Answer time − send time, ms. */
  rttMs: number;
}

export interface SrResult {
  answered: AnsweredPair[];
  unanswered: Packet[];
}

type Sendable = Packet | string;

function toPacket(p: Sendable): { packet: Packet; spec?: string } {
  return typeof p === "string" ? { packet: parseLayerSpec(p), spec: p } : { packet: p };
}

function netnsPath(netns: string | undefined): string | null {
  if (!netns) return null;
  if (!/^[A-Za-z0-9_.-]+$/.test(netns))
    throw new QoelabError("NET_BAD_NETNS", `network namespace "${netns}": letters, digits, "_", "." and "-" only`);
  return `/run/netns/${netns}`;
}

function ipJson(netns: string | undefined, args: string[]): unknown {
  const argv = netns ? ["netns", "exec", netns, "ip", "-j", ...args] : ["-j", ...args];
  try {
    return JSON.parse(execFileSync("ip", argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) || "[]");
  } catch {
    return [];
  }
}

function routeTo(netns: string | undefined, dst: string): { dev?: string; prefsrc?: string; gateway?: string } {
  const r = ipJson(netns, ["route", "get", dst]) as { dev?: string; prefsrc?: string; gateway?: string }[];
  return r[0] ?? {};
}

function check(fd: number, what: string): number {
  if (fd < 0) {
    const addon = rawsockAddon();
    const hint = fd === -1 || fd === -13 ? " (raw sockets need root or CAP_NET_RAW)" : "";
    throw new QoelabError("NET_SOCKET_FAILED", `${what}: ${addon.strerror(-fd)}${hint}`, { errno: -fd });
  }
  return fd;
}

function withFields(packet: Packet, change: (layer: AnyLayer) => Record<string, unknown> | undefined): Packet {
  const layers = packet.layers.map((layer) => {
    const fields = change(layer);
    return fields ? ({ ...layer, fields: { ...layer.fields, ...fields } } as AnyLayer) : layer;
  });
  return new Packet(layers);
}

/** Mentions `field=` inside `layer(...)` of a layer description. */
function explicit(spec: string | undefined, layer: string, field: string): boolean {
  if (!spec) return false;
  return new RegExp(`\\b${layer}\\s*\\([^)]*\\b${field}\\s*=`, "i").test(spec);
}

interface Prepared {
  packet: Packet;
  bytes: Uint8Array;
  layer: 2 | 3;
  dst: string;
  iface?: string;
}

function prepare(input: Sendable, options: SendOptions): Prepared {
  const { packet: built, spec } = toPacket(input);
  const first = built.layers[0];
  const ip = built.layers.find((l) => l.type === "IPv4" || l.type === "IPv6");
  if (!first || !ip) {
    throw new QoelabError(
      "NET_NOT_IP",
      `send: ${built.summary() || "an empty packet"} has no IPv4/IPv6 layer (qoelab sends IP packets, raw or in Ethernet frames)`,
    );
  }
  if (first.type !== "Ether" && first !== ip) {
    throw new QoelabError(
      "NET_BAD_FIRST_LAYER",
      `send: a packet starts with ether, ipv4 or ipv6 (this one: ${first.type})`,
    );
  }
  const ipFields = ip.fields as { src: string; dst: string };
  const v6 = ip.type === "IPv6";
  const layerName = v6 ? "ipv6" : "ipv4";
  let packet = built;
  const route = routeTo(options.netns, ipFields.dst);
  if (options.fill !== false && route.prefsrc) {
    const isDefault = ipFields.src === (v6 ? BUILDER_DEFAULTS.ipv6Src : BUILDER_DEFAULTS.ipv4Src);
    if (isDefault && !explicit(spec, layerName, "src") && route.prefsrc !== ipFields.src) {
      const target = ip;
      packet = withFields(packet, (l) => (l === target ? { src: route.prefsrc } : undefined));
    }
  }
  if (first.type !== "Ether") {
    return {
      packet,
      bytes: packet.bytes(),
      layer: 3,
      dst: ipFields.dst,
      ...(options.iface ? { iface: options.iface } : {}),
    };
  }
  const iface = options.iface ?? route.dev;
  if (!iface) {
    throw new QoelabError(
      "NET_NO_IFACE",
      `send: no route to ${ipFields.dst} in ${options.netns ?? "this namespace"}; give --iface`,
    );
  }
  if (options.fill !== false) {
    const eth = packet.layers[0]!;
    const f = eth.fields as { src: string; dst: string };
    const changes: Record<string, string> = {};
    if (f.src === BUILDER_DEFAULTS.macSrc && !explicit(spec, "ether", "src")) {
      const link = ipJson(options.netns, ["link", "show", "dev", iface]) as { address?: string }[];
      if (link[0]?.address) changes.src = link[0].address;
    }
    if (f.dst === BUILDER_DEFAULTS.macDst && !explicit(spec, "ether", "dst")) {
      const hop = route.gateway ?? ipFields.dst;
      const neigh = ipJson(options.netns, ["neigh", "show", "to", hop, "dev", iface]) as { lladdr?: string }[];
      changes.dst = neigh[0]?.lladdr ?? "ff:ff:ff:ff:ff:ff";
    }
    if (Object.keys(changes).length > 0) packet = withFields(packet, (l) => (l === eth ? changes : undefined));
  }
  return { packet, bytes: packet.bytes(), layer: 2, dst: ipFields.dst, iface };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Listener {
  private readonly fd: number;
  private readonly buffer = new Uint8Array(65536 + 64);
  constructor(options: NetOptions) {
    this.fd = check(
      rawsockAddon().open(0, options.iface ?? "", netnsPath(options.netns)),
      `packet socket on ${options.netns ? `${options.netns}:` : ""}${options.iface ?? "every interface"}`,
    );
  }
  /**
   * Every frame received since the last call. Frames this host sent are skipped unless asked for:
   * they never answer anything, but sniff, like Scapy's and tcpdump, sees both directions.
   */
  drain(onPacket: (packet: Packet, record: PacketRecord, atMs: number) => void, withOutgoing = false): void {
    const addon = rawsockAddon();
    for (;;) {
      const got = addon.recv(this.fd, this.buffer);
      if (typeof got === "number") {
        if (got === -11 || got === -4) return;
        throw new QoelabError("NET_RECV_FAILED", `reading answers: ${addon.strerror(-got)}`);
      }
      const [length, outgoing, sec, usec, hatype] = got;
      if (outgoing && !withOutgoing) continue;
      const linkType = hatype === 1 || hatype === 772 ? LinkType.ETHERNET : LinkType.RAW;
      const bytes = this.buffer.slice(0, length);
      const record: PacketRecord = {
        buffer: bytes,
        offset: 0,
        caplen: length,
        origlen: length,
        tsSec: sec,
        tsNsec: usec * 1000,
        linkType,
      } as PacketRecord;
      let packet: Packet;
      try {
        packet = decodePacket(bytes, linkType);
      } catch {
        continue;
      }
      onPacket(packet, record, sec * 1000 + usec / 1000);
    }
  }
  close(): void {
    rawsockAddon().close(this.fd);
  }
}

class Sender {
  private readonly fds = new Map<string, number>();
  constructor(private readonly options: NetOptions) {}
  send(p: Prepared): void {
    const addon = rawsockAddon();
    const key = p.layer === 2 ? `2:${p.iface}` : `3:${p.dst.includes(":") ? 6 : 4}`;
    let fd = this.fds.get(key);
    if (fd === undefined) {
      const kind = p.layer === 2 ? 0 : p.dst.includes(":") ? 6 : 4;
      fd = check(
        addon.open(kind, p.layer === 2 ? (p.iface ?? "") : (this.options.iface ?? ""), netnsPath(this.options.netns)),
        `${p.layer === 2 ? "packet" : "raw IP"} socket in ${this.options.netns ?? "this namespace"}`,
      );
      this.fds.set(key, fd);
    }
    const sent = p.layer === 2 ? addon.sendFrame(fd, p.bytes) : addon.sendIp(fd, p.bytes, p.dst);
    if (sent < 0)
      throw new QoelabError("NET_SEND_FAILED", `send ${p.packet.summary()}: ${addon.strerror(-sent)}`, {
        errno: -sent,
      });
  }
  close(): void {
    for (const fd of this.fds.values()) rawsockAddon().close(fd);
  }
}

function expand(packets: Sendable | readonly Sendable[], options: SendOptions): Prepared[] {
  const list = Array.isArray(packets) ? (packets as readonly Sendable[]) : [packets as Sendable];
  const count = options.count ?? 1;
  if (!(Number.isInteger(count) && count >= 1)) throw new QoelabError("NET_BAD_COUNT", `count ${count}: expected ≥ 1`);
  const prepared = list.map((p) => prepare(p, options));
  const out: Prepared[] = [];
  for (let i = 0; i < count; i++) out.push(...prepared);
  return out;
}

/** Sends packets (layer 3 or 2 by their first layer); resolves with what left, as resolved packets. */
export async function send(packets: Sendable | readonly Sendable[], options: SendOptions = {}): Promise<SentPacket[]> {
  const list = expand(packets, options);
  const sender = new Sender(options);
  const out: SentPacket[] = [];
  try {
    for (const [i, p] of list.entries()) {
      if (i > 0 && options.interMs) await sleep(options.interMs);
      sender.send(p);
      out.push({ packet: p.packet.resolved(), sentAt: Date.now() });
    }
  } finally {
    sender.close();
  }
  return out;
}

/** Sends and collects answers: every (sent, answer) pair and what went unanswered. */
export async function sr(
  packets: Sendable | readonly Sendable[],
  options: SrOptions = {},
  stopAtFirst = false,
): Promise<SrResult> {
  const list = expand(packets, options);
  const listener = new Listener(options);
  const sender = new Sender(options);
  const pending: { packet: Packet; sentAt: number }[] = [];
  const answered: AnsweredPair[] = [];
  const collect = () =>
    listener.drain((packet, _record, atMs) => {
      const i = pending.findIndex((s) => answers(s.packet, packet));
      if (i < 0) return;
      const [s] = pending.splice(i, 1);
      answered.push({ sent: s!.packet, answer: packet, rttMs: Math.max(0, atMs - s!.sentAt) });
    });
  try {
    for (const [i, p] of list.entries()) {
      if (i > 0 && options.interMs) await sleep(options.interMs);
      pending.push({ packet: p.packet.resolved(), sentAt: Date.now() });
      sender.send(p);
      collect();
    }
    const deadline = Date.now() + (options.timeoutMs ?? 2000);
    while (pending.length > 0 && Date.now() < deadline && !(stopAtFirst && answered.length > 0)) {
      await sleep(1);
      collect();
    }
  } finally {
    sender.close();
    listener.close();
  }
  return { answered, unanswered: pending.map((p) => p.packet) };
}

/** Sends one packet and resolves with the first answer (null after the timeout). */
export async function sr1(packet: Sendable, options: SrOptions = {}): Promise<AnsweredPair | null> {
  const r = await sr(packet, { ...options, count: 1 }, true);
  return r.answered[0] ?? null;
}

export interface SniffOptions extends NetOptions {
  /** Stop after this many packets. */
  count?: number;
  /** Stop after this long, ms (default: only the count stops it). */
  timeoutMs?: number;
  /** pcap-filter expression (tcpdump syntax), e.g. "tcp" or "udp port 5004". */
  filter?: string;
}

/** Reads the packets the interface(s) carry, both directions, as Scapy's sniff(count, filter). */
export async function sniff(options: SniffOptions = {}): Promise<Packet[]> {
  if (options.count === undefined && options.timeoutMs === undefined)
    throw new QoelabError("NET_SNIFF_UNBOUNDED", "sniff: give a count or a timeout");
  const filter = options.filter ? compileFilter(options.filter) : undefined;
  const listener = new Listener(options);
  const out: Packet[] = [];
  const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Number.POSITIVE_INFINITY;
  try {
    while ((options.count === undefined || out.length < options.count) && Date.now() < deadline) {
      listener.drain((packet, record) => {
        if (options.count !== undefined && out.length >= options.count) return;
        if (filter && !filter.matchesRecord(record)) return;
        setPacketTime(packet, record.tsSec, record.tsNsec);
        out.push(packet);
      }, true);
      await sleep(1);
    }
  } finally {
    listener.close();
  }
  return out;
}
