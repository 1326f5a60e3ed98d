import { QoelabError } from "../../errors.ts";
import type { LayerAnomaly } from "../anomaly.ts";
import { type AppAnomaly, type AppDecodeInfo, appAnomaly } from "../app-anomaly.ts";
import type { ShowRow } from "../layer.ts";
import { type AppPayload, type DecodeWalker, defineLayer, sameBytes } from "../layer-def.ts";
import { encodeSdpBytes, parseSdp } from "./sdp.ts";

/*
 * SIP message (RFC 3261 §7), text over UDP or a byte stream (TCP, TLS):
 *
 *   start-line        Request-Line:  Method SP Request-URI SP SIP-Version CRLF
 *                     Status-Line:   SIP-Version SP Status-Code SP Reason-Phrase CRLF
 *   *message-header   field-name ":" field-value CRLF   (a line starting with SP/HT continues the
 *                                                       previous header: folding, §7.3.1)
 *   CRLF
 *   [ message-body ]  Content-Length bytes (mandatory on streams; on UDP the datagram's rest)
 *
 * Header names are case-insensitive and have compact forms (§7.3.3 and later RFCs: i = Call-ID,
 * m = Contact, …). Several headers of the same name, or one with comma-separated values, form a
 * list (§7.3.1). Decoding never throws: malformed text is a coded anomaly.
 */

export interface SipHeader {
  /** The name as written (compact forms kept: encode writes it back unchanged). */
  name: string;
  /** The value with folding undone and surrounding whitespace removed. */
  value: string;
}

interface SipMessageBase {
  /** "SIP/2.0". */
  version: string;
  headers: SipHeader[];
  body: Uint8Array;
}

export interface SipRequest extends SipMessageBase {
  kind: "request";
  method: string;
  requestUri: string;
}

export interface SipResponse extends SipMessageBase {
  kind: "response";
  statusCode: number;
  reasonPhrase: string;
}

export type SipMessage = SipRequest | SipResponse;

export interface DecodedSip extends AppDecodeInfo {
  /** Null when the bytes are not a SIP message at all (or only CRLF keep-alives). */
  message: SipMessage | null;
  /** Bytes of the whole message (head + body as taken). */
  messageLength: number;
}

export interface SipDecodeOptions {
  /**
   * "datagram" (UDP, default): without Content-Length the body is the rest of the datagram, and
   * bytes after the announced body are an anomaly. "stream" (TCP): without Content-Length the body
   * is empty, and bytes after the message are left for the next one.
   */
  transport?: "datagram" | "stream";
}

/** Compact forms (RFC 3261 §7.3.3, RFC 3515, 3892, 3903, 4028, 3841, 4474, 6665, 3265). */
const COMPACT_FORMS: Readonly<Record<string, string>> = {
  a: "Accept-Contact",
  b: "Referred-By",
  c: "Content-Type",
  d: "Request-Disposition",
  e: "Content-Encoding",
  f: "From",
  i: "Call-ID",
  j: "Reject-Contact",
  k: "Supported",
  l: "Content-Length",
  m: "Contact",
  n: "Identity-Info",
  o: "Event",
  r: "Refer-To",
  s: "Subject",
  t: "To",
  u: "Allow-Events",
  v: "Via",
  x: "Session-Expires",
  y: "Identity",
};

/** Canonical spellings of common headers, by lower-case name. */
const CANONICAL_NAMES: ReadonlyMap<string, string> = new Map(
  [
    ...Object.values(COMPACT_FORMS),
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "CSeq",
    "Call-Info",
    "Content-Disposition",
    "Content-Language",
    "Date",
    "Error-Info",
    "Expires",
    "In-Reply-To",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "P-Asserted-Identity",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "RSeq",
    "Server",
    "Timestamp",
    "Unsupported",
    "User-Agent",
    "Warning",
    "WWW-Authenticate",
  ].map((name) => [name.toLowerCase(), name]),
);

/** Full, canonically spelled header name for any spelling or compact form ("i" → "Call-ID"). */
export function canonicalSipHeaderName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) {
    const full = COMPACT_FORMS[lower];
    if (full) return full;
  }
  return CANONICAL_NAMES.get(lower) ?? name;
}

const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();
const SIP_VERSION = /^SIP\/\d+\.\d+$/i;
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const CR = 13;
const LF = 10;

/** Finds the end of the head: index just past CRLFCRLF (or LFLF), or -1. */
function findHeadEnd(bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    if (bytes[i] !== LF) continue;
    // i is an LF ending a line; is the next line empty?
    if (i + 1 < end && bytes[i + 1] === LF) return i + 2;
    if (i + 2 < end && bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3;
  }
  return -1;
}

function skipKeepAlive(bytes: Uint8Array, p: number, end: number): number {
  while (p < end && (bytes[p] === CR || bytes[p] === LF)) p++;
  return p;
}

/**
 * Decodes the SIP message starting at `bytes[offset]` within `length` bytes. Leading CRLFs
 * (keep-alives, RFC 5626 §3.5.1) are skipped. Never throws.
 */
export function decodeSip(
  bytes: Uint8Array,
  offset = 0,
  length: number = bytes.length - offset,
  options: SipDecodeOptions = {},
): DecodedSip {
  const stream = options.transport === "stream";
  const end = offset + Math.max(0, length);
  const anomalies: AppAnomaly[] = [];
  const result: DecodedSip = { message: null, messageLength: 0, headerLength: 0, complete: false, anomalies };
  const start = skipKeepAlive(bytes, offset, end);
  if (start === end) {
    result.complete = true;
    result.messageLength = end - offset;
    return result;
  }
  let headEnd = findHeadEnd(bytes, start, end);
  if (headEnd < 0) {
    anomalies.push(appAnomaly("truncated", "SIP: no empty line ends the headers"));
    headEnd = end;
  }
  const head = utf8.decode(bytes.subarray(start, headEnd));
  const lines = head.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const startLine = lines[0] ?? "";
  const message = parseStartLine(startLine);
  if (!message) {
    anomalies.push(appAnomaly("bad-syntax", `SIP: start line ${JSON.stringify(startLine.slice(0, 80))} is not SIP`));
    return result;
  }
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith(" ") || line.startsWith("\t")) {
      const previous = message.headers[message.headers.length - 1];
      if (previous) previous.value = `${previous.value} ${line.trim()}`.trim();
      else anomalies.push(appAnomaly("bad-syntax", `SIP: continuation line ${i} with no header before it`));
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!TOKEN.test(name)) {
      anomalies.push(appAnomaly("bad-syntax", `SIP: header line ${i} ${JSON.stringify(line.slice(0, 80))}`));
      continue;
    }
    message.headers.push({ name, value: line.slice(colon + 1).trim() });
  }
  result.headerLength = headEnd - offset;
  const contentLength = readContentLength(message, anomalies);
  let bodyEnd: number;
  if (headEnd === end && anomalies.some((a) => a.code === "truncated")) {
    bodyEnd = end;
  } else if (contentLength === null) {
    bodyEnd = stream ? headEnd : end;
    result.complete = true;
  } else if (contentLength > end - headEnd) {
    anomalies.push(
      appAnomaly("truncated", `SIP: Content-Length ${contentLength}, ${end - headEnd} body bytes present`),
    );
    bodyEnd = end;
  } else {
    bodyEnd = headEnd + contentLength;
    result.complete = true;
    if (!stream && bodyEnd < end && skipKeepAlive(bytes, bodyEnd, end) < end) {
      anomalies.push(appAnomaly("trailing-bytes", `SIP: ${end - bodyEnd} bytes after the Content-Length body`));
    }
  }
  message.body = bytes.subarray(headEnd, bodyEnd);
  result.message = message;
  result.messageLength = bodyEnd - offset;
  return result;
}

function parseStartLine(line: string): SipMessage | null {
  const parts = line.split(" ");
  if (parts.length < 3) return null;
  const [a, b, ...rest] = parts as [string, string, ...string[]];
  if (SIP_VERSION.test(a)) {
    if (!/^[1-6]\d\d$/.test(b)) return null;
    return {
      kind: "response",
      version: a,
      statusCode: Number(b),
      reasonPhrase: rest.join(" "),
      headers: [],
      body: new Uint8Array(0),
    };
  }
  if (parts.length !== 3 || !TOKEN.test(a) || b === "" || !SIP_VERSION.test(rest[0]!)) return null;
  return { kind: "request", method: a, requestUri: b, version: rest[0]!, headers: [], body: new Uint8Array(0) };
}

function readContentLength(message: SipMessage, anomalies: AppAnomaly[]): number | null {
  const values = sipHeaderValues(message, "Content-Length");
  if (values.length === 0) return null;
  let found: number | null = null;
  for (const value of values) {
    if (!/^\d{1,9}$/.test(value)) {
      anomalies.push(appAnomaly("bad-length", `SIP: Content-Length ${JSON.stringify(value.slice(0, 20))}`));
      continue;
    }
    const n = Number(value);
    if (found !== null && found !== n) {
      anomalies.push(appAnomaly("bad-length", `SIP: two Content-Length values ${found} and ${n}`));
      continue;
    }
    found = n;
  }
  return found;
}

/** Every value of header `name` (any spelling or compact form), in order; no comma splitting. */
export function sipHeaderValues(message: SipMessage, name: string): string[] {
  const wanted = canonicalSipHeaderName(name).toLowerCase();
  const out: string[] = [];
  for (const header of message.headers) {
    if (canonicalSipHeaderName(header.name).toLowerCase() === wanted) out.push(header.value);
  }
  return out;
}

/** The first value of header `name` (case-insensitive, compact forms understood). */
export function sipHeader(message: SipMessage, name: string): string | undefined {
  const wanted = canonicalSipHeaderName(name).toLowerCase();
  for (const header of message.headers) {
    if (canonicalSipHeaderName(header.name).toLowerCase() === wanted) return header.value;
  }
  return undefined;
}

/** Values of a list header (Via, Contact, Route, Allow, …) across all its lines, split at commas. */
export function sipHeaderList(message: SipMessage, name: string): string[] {
  return sipHeaderValues(message, name).flatMap(splitSipList);
}

/** Splits a header value at commas that are outside quotes and angle brackets. */
export function splitSipList(value: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let angle = false;
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "<") angle = true;
    else if (c === ">") angle = false;
    else if (c === "," && !angle) {
      out.push(value.slice(from, i).trim());
      from = i + 1;
    }
  }
  const last = value.slice(from).trim();
  if (last !== "" || out.length > 0) out.push(last);
  return out.filter((v) => v !== "");
}

export function sipCallId(message: SipMessage): string | undefined {
  return sipHeader(message, "Call-ID");
}

export function sipCSeq(message: SipMessage): { sequence: number; method: string } | null {
  const value = sipHeader(message, "CSeq");
  const match = value ? /^(\d{1,10})\s+(\S+)$/.exec(value) : null;
  if (!match) return null;
  return { sequence: Number(match[1]), method: match[2]! };
}

export interface SipUri {
  /** "sip", "sips", "tel", … (lower case). */
  scheme: string;
  user: string | null;
  password: string | null;
  host: string;
  port: number | null;
  /** URI parameters (;transport=udp, ;lr → null value). */
  params: Record<string, string | null>;
  /** The ?headers part, raw. */
  headers: string | null;
}

/** Parses sip:/sips: URIs (RFC 3261 §19.1) and, loosely, other schemes; null when not a URI. */
export function parseSipUri(uri: string): SipUri | null {
  const colon = uri.indexOf(":");
  if (colon <= 0) return null;
  const scheme = uri.slice(0, colon).toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) return null;
  let rest = uri.slice(colon + 1);
  let headers: string | null = null;
  const question = rest.indexOf("?");
  if (question >= 0) {
    headers = rest.slice(question + 1);
    rest = rest.slice(0, question);
  }
  const [hostPart, ...paramParts] = splitParams(rest);
  let user: string | null = null;
  let password: string | null = null;
  let hostPort = hostPart ?? "";
  const at = hostPort.lastIndexOf("@");
  if (at >= 0) {
    const userInfo = hostPort.slice(0, at);
    hostPort = hostPort.slice(at + 1);
    const pw = userInfo.indexOf(":");
    user = pw >= 0 ? userInfo.slice(0, pw) : userInfo;
    password = pw >= 0 ? userInfo.slice(pw + 1) : null;
  }
  let host = hostPort;
  let port: number | null = null;
  const portMatch = /^(\[[^\]]*\]|[^:]*):(\d{1,5})$/.exec(hostPort);
  if (portMatch) {
    host = portMatch[1]!;
    port = Number(portMatch[2]);
  }
  if (host === "" && scheme.startsWith("sip")) return null;
  return { scheme, user, password, host, port, params: parseParams(paramParts), headers };
}

function splitParams(text: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === ";" && !quoted) {
      out.push(text.slice(from, i));
      from = i + 1;
    }
  }
  out.push(text.slice(from));
  return out;
}

function parseParams(parts: string[]): Record<string, string | null> {
  const params: Record<string, string | null> = {};
  for (const part of parts) {
    const trimmed = part.trim();
    if (trimmed === "") continue;
    const eq = trimmed.indexOf("=");
    if (eq < 0) params[trimmed.toLowerCase()] = null;
    else params[trimmed.slice(0, eq).trim().toLowerCase()] = trimmed.slice(eq + 1).trim();
  }
  return params;
}

/** A name-addr or addr-spec with header parameters: From, To, Contact, Route, Refer-To, … */
export interface SipNameAddr {
  /** Display name without quotes, or null. */
  displayName: string | null;
  uri: string;
  /** The parsed URI, or null when it does not parse. */
  parsedUri: SipUri | null;
  /** Header parameters after the address (;tag=…, ;expires=…). */
  params: Record<string, string | null>;
  /** The tag parameter (From/To), or null. */
  tag: string | null;
}

/** Parses `"Alice" <sip:alice@host>;tag=x`, `<sip:…>;p`, or `sip:alice@host;tag=x`; null if empty. */
export function parseSipNameAddr(value: string): SipNameAddr | null {
  const text = value.trim();
  if (text === "") return null;
  let displayName: string | null = null;
  let uri: string;
  let paramText: string;
  const open = text.indexOf("<");
  if (open >= 0) {
    const close = text.indexOf(">", open);
    if (close < 0) return null;
    let name = text.slice(0, open).trim();
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) {
      name = name.slice(1, -1).replace(/\\(.)/g, "$1");
    }
    displayName = name === "" ? null : name;
    uri = text.slice(open + 1, close).trim();
    paramText = text.slice(close + 1);
  } else {
    // addr-spec form: parameters after the URI belong to the header (RFC 3261 §20.10).
    if (text.startsWith('"')) return null;
    const semi = text.indexOf(";");
    uri = semi >= 0 ? text.slice(0, semi) : text;
    paramText = semi >= 0 ? text.slice(semi) : "";
  }
  const params = parseParams(splitParams(paramText.replace(/^\s*;/, "")));
  return { displayName, uri, parsedUri: parseSipUri(uri), params, tag: params["tag"] ?? null };
}

export function sipFrom(message: SipMessage): SipNameAddr | null {
  const value = sipHeader(message, "From");
  return value === undefined ? null : parseSipNameAddr(value);
}

export function sipTo(message: SipMessage): SipNameAddr | null {
  const value = sipHeader(message, "To");
  return value === undefined ? null : parseSipNameAddr(value);
}

/** Contact addresses (empty for none or for `Contact: *`). */
export function sipContacts(message: SipMessage): SipNameAddr[] {
  const out: SipNameAddr[] = [];
  for (const value of sipHeaderList(message, "Contact")) {
    if (value === "*") continue;
    const parsed = parseSipNameAddr(value);
    if (parsed) out.push(parsed);
  }
  return out;
}

export interface SipVia {
  /** "SIP/2.0". */
  protocol: string;
  /** "UDP", "TCP", "TLS", "WS", … (upper case). */
  transport: string;
  host: string;
  port: number | null;
  branch: string | null;
  params: Record<string, string | null>;
}

/** Parses one Via value `SIP/2.0/UDP host:port;branch=…`; null when malformed. */
export function parseSipVia(value: string): SipVia | null {
  const match = /^\s*([^/\s]+\s*\/\s*[^/\s]+)\s*\/\s*([^\s]+)\s+([^;]+)(.*)$/.exec(value);
  if (!match) return null;
  const sentBy = match[3]!.trim();
  let host = sentBy;
  let port: number | null = null;
  const portMatch = /^(\[[^\]]*\]|[^:]*):\s*(\d{1,5})$/.exec(sentBy);
  if (portMatch) {
    host = portMatch[1]!.trim();
    port = Number(portMatch[2]);
  }
  const params = parseParams(splitParams(match[4]!.replace(/^\s*;/, "")));
  return {
    protocol: match[1]!.replace(/\s+/g, ""),
    transport: match[2]!.toUpperCase(),
    host,
    port,
    branch: params["branch"] ?? null,
    params,
  };
}

/** Every Via, topmost first. */
export function sipVias(message: SipMessage): SipVia[] {
  const out: SipVia[] = [];
  for (const value of sipHeaderList(message, "Via")) {
    const via = parseSipVia(value);
    if (via) out.push(via);
  }
  return out;
}

/** Content-Length as a number, or null when absent or not a number. */
export function sipContentLength(message: SipMessage): number | null {
  const value = sipHeader(message, "Content-Length");
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : null;
}

/** Media type of the body, lower case without parameters ("application/sdp"), or null. */
export function sipContentType(message: SipMessage): string | null {
  const value = sipHeader(message, "Content-Type");
  return value ? (value.split(";")[0] ?? "").trim().toLowerCase() : null;
}

export interface SipEncodeOptions {
  /** Set Content-Length to the body's size (first such header rewritten, appended if absent). Default true. */
  setContentLength?: boolean;
}

/**
 * Encodes a message: start line, each header as `Name: value` in order, an empty line, the body.
 * Throws `PACKET_BAD_FIELD` when a name or value would break the framing (CR/LF, no token).
 */
export function encodeSip(message: SipMessage, options: SipEncodeOptions = {}): Uint8Array {
  const setContentLength = options.setContentLength ?? true;
  const lines: string[] = [];
  if (message.kind === "request") {
    checkText("method", message.method, TOKEN);
    checkText("Request-URI", message.requestUri, /^[^\s]+$/);
    lines.push(`${message.method} ${message.requestUri} ${message.version}`);
  } else {
    if (!Number.isInteger(message.statusCode) || message.statusCode < 100 || message.statusCode > 699) {
      throw new QoelabError("PACKET_BAD_FIELD", `SIP status code ${message.statusCode}: must be 100..699`, {
        field: "statusCode",
      });
    }
    checkText("reason phrase", message.reasonPhrase, /^[^\r\n]*$/);
    lines.push(`${message.version} ${message.statusCode} ${message.reasonPhrase}`);
  }
  checkText("version", message.version, SIP_VERSION);
  let lengthWritten = false;
  for (const header of message.headers) {
    checkText("header name", header.name, TOKEN);
    checkText(`header ${header.name}`, header.value, /^[^\r\n]*$/);
    let value = header.value;
    if (setContentLength && canonicalSipHeaderName(header.name) === "Content-Length") {
      if (lengthWritten) continue;
      value = String(message.body.length);
      lengthWritten = true;
    }
    // An empty value is written without the space (as baresip writes `Supported:`).
    lines.push(value === "" ? `${header.name}:` : `${header.name}: ${value}`);
  }
  if (setContentLength && !lengthWritten) lines.push(`Content-Length: ${message.body.length}`);
  const head = utf8Encoder.encode(`${lines.join("\r\n")}\r\n\r\n`);
  const out = new Uint8Array(head.length + message.body.length);
  out.set(head, 0);
  out.set(message.body, head.length);
  return out;
}

function checkText(field: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value)) {
    throw new QoelabError("PACKET_BAD_FIELD", `SIP ${field} ${JSON.stringify(value)} is not valid`, { field, value });
  }
}

/**
 * Cuts a byte stream (SIP over TCP/TLS) into messages by their Content-Length (RFC 3261 §18.3).
 * `push` returns the messages completed by the chunk (each an owned copy); a partial message waits
 * for more bytes. Keep-alive CRLFs are skipped. A head longer than `maxMessageSize` or a bad
 * Content-Length is recorded in `anomalies`; an over-long head is dropped (bytes held stay bounded).
 */
export class SipStreamSplitter {
  readonly anomalies: AppAnomaly[] = [];
  private buffer = new Uint8Array(0);
  private readonly maxMessageSize: number;

  constructor(options: { maxMessageSize?: number } = {}) {
    this.maxMessageSize = options.maxMessageSize ?? 256 * 1024;
  }

  /** Bytes held for an incomplete message. */
  get pendingBytes(): number {
    return this.buffer.length;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    const out: Uint8Array[] = [];
    let p = 0;
    for (;;) {
      p = skipKeepAlive(joined, p, joined.length);
      if (p >= joined.length) break;
      const headEnd = findHeadEnd(joined, p, joined.length);
      if (headEnd < 0) {
        if (joined.length - p > this.maxMessageSize) {
          this.anomalies.push(appAnomaly("bad-length", `SIP stream: no end of headers in ${joined.length - p} bytes`));
          p = joined.length;
        }
        break;
      }
      const head = utf8.decode(joined.subarray(p, headEnd));
      const match = /^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)/im.exec(head);
      let contentLength = 0;
      if (match) {
        const text = match[1]!.trim();
        if (/^\d{1,9}$/.test(text)) contentLength = Number(text);
        else this.anomalies.push(appAnomaly("bad-length", `SIP stream: Content-Length ${JSON.stringify(text)}`));
      }
      if (contentLength > this.maxMessageSize) {
        this.anomalies.push(appAnomaly("bad-length", `SIP stream: Content-Length ${contentLength} over the limit`));
        contentLength = 0;
      }
      if (joined.length - headEnd < contentLength) break;
      out.push(joined.slice(p, headEnd + contentLength));
      p = headEnd + contentLength;
    }
    this.buffer = joined.slice(p);
    return out;
  }

  /** Ends the stream: returns the incomplete tail (noted as truncated), or null when none. */
  end(): Uint8Array | null {
    const rest = this.buffer.subarray(skipKeepAlive(this.buffer, 0, this.buffer.length));
    this.buffer = new Uint8Array(0);
    if (rest.length === 0) return null;
    this.anomalies.push(
      appAnomaly("truncated", `SIP stream: ${rest.length} bytes of an incomplete message at the end`),
    );
    return rest;
  }
}

/** Text of a body (SDP etc.) as UTF-8. */
export function sipBodyText(message: SipMessage): string {
  return utf8.decode(message.body);
}

/** UDP/TCP ports SIP is looked for on without a start-line check (RFC 3261 §19.1.2). */
export const SIP_PORTS: readonly number[] = [5060, 5061];

/** "SIP/2.0 " or an upper-case method followed by a space and a sip:/sips:/tel: URI. */
function looksLikeSipStart(bytes: Uint8Array, offset: number, end: number): boolean {
  const first = bytes[offset] ?? 0;
  if (first < 0x41 || first > 0x5a) return false;
  const head = String.fromCharCode(...bytes.subarray(offset, Math.min(end, offset + 24)));
  return /^(SIP\/2\.0 \d|[A-Z]+ (sips?|tel):)/.test(head);
}

/**
 * SIP on its ports or when the payload starts like a SIP start line; the body becomes an SDP layer
 * when its Content-Type says so. Only taken when re-encoding reproduces the bytes exactly (so
 * `bytes()` of a decoded packet stays byte-identical); otherwise left as Raw.
 */
function decodeSipApp(w: DecodeWalker, payload: AppPayload): boolean {
  const { bytes: b, offset, end, transport, sport, dport } = payload;
  if (!SIP_PORTS.includes(sport) && !SIP_PORTS.includes(dport) && !looksLikeSipStart(b, offset, end)) return false;
  const d = decodeSip(b, offset, end - offset, { transport: transport === "UDP" ? "datagram" : "stream" });
  const message = d.message;
  if (message === null || offset + d.messageLength !== end) return false;
  const bodyStart = end - message.body.length;
  if (!sameBytes(encodeSip(message), b, offset, end)) return false;
  const { body, ...fields } = message;
  w.push(
    { type: "SIP", fields },
    { anomalies: d.anomalies as LayerAnomaly[], headerLength: bodyStart - offset },
    offset,
    false,
  );
  if (body.length > 0 && sipContentType(message) === "application/sdp") {
    const sdp = parseSdp(body);
    if (sameBytes(encodeSdpBytes(sdp.session), b, bodyStart, end)) {
      w.push(
        { type: "SDP", fields: sdp.session },
        { anomalies: sdp.anomalies as LayerAnomaly[], headerLength: body.length },
        bodyStart,
        false,
      );
      return true;
    }
  }
  w.raw(bodyStart, end, false);
  return true;
}

export const sipLayer = defineLayer({
  type: "SIP",
  info: { title: "SIP", tcpip: "application", osi: 7 },
  decodeApp: decodeSipApp,
  encode: (layer, payload) => encodeSip({ ...layer.fields, body: payload } as SipMessage),
  size: (layer) => encodeSip({ ...layer.fields, body: new Uint8Array(0) } as SipMessage).length,
  rows({ fields: f }) {
    const rows: ShowRow[] =
      f.kind === "request"
        ? [
            ["method", f.method],
            ["requestUri", f.requestUri],
            ["version", f.version],
          ]
        : [
            ["version", f.version],
            ["statusCode", String(f.statusCode)],
            ["reasonPhrase", f.reasonPhrase],
          ];
    for (const h of f.headers) rows.push([h.name, h.value]);
    return rows;
  },
  summary: ({ fields: f }) =>
    f.kind === "request" ? `SIP ${f.method} ${f.requestUri}` : `SIP ${f.statusCode} ${f.reasonPhrase}`,
});
