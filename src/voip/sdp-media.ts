/**
 * The little of SDP (RFC 8866) that stream discovery needs: for each m= line, the connection
 * address (media-level c= over session-level c=), the port, and the rtpmap payload names/clock
 * rates. Used until the packet library's SDP codec is wired in.
 */
export interface SdpMedia {
  media: string;
  address: string;
  port: number;
  protocol: string;
  /** Payload types listed on the m= line. */
  formats: number[];
  /** a=rtpmap:<pt> <name>/<rate>[/<channels>] */
  rtpmap: Map<number, { encoding: string; clockRate: number; channels: number }>;
  direction: "sendrecv" | "sendonly" | "recvonly" | "inactive";
}

export function parseSdpMedia(text: string): SdpMedia[] {
  const out: SdpMedia[] = [];
  let sessionAddress = "";
  let sessionDirection: SdpMedia["direction"] = "sendrecv";
  let current: SdpMedia | null = null;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.length < 2 || line[1] !== "=") continue;
    const type = line[0];
    const value = line.slice(2);
    if (type === "v") {
      // A new session description (MEGACO's descriptors can hold several): its c= and a= start afresh.
      sessionAddress = "";
      sessionDirection = "sendrecv";
      current = null;
    } else if (type === "m") {
      const [media = "", portText = "0", protocol = "", ...formats] = value.split(/\s+/);
      current = {
        media,
        address: sessionAddress,
        port: Number.parseInt(portText, 10) || 0,
        protocol,
        formats: formats.map((f) => Number.parseInt(f, 10)).filter((n) => Number.isInteger(n)),
        rtpmap: new Map(),
        direction: sessionDirection,
      };
      out.push(current);
    } else if (type === "c") {
      const address = value.split(/\s+/)[2]?.split("/")[0] ?? "";
      if (current) current.address = address;
      else sessionAddress = address;
    } else if (type === "a") {
      const colon = value.indexOf(":");
      const name = colon < 0 ? value : value.slice(0, colon);
      if (name === "sendrecv" || name === "sendonly" || name === "recvonly" || name === "inactive") {
        if (current) current.direction = name;
        else sessionDirection = name;
      } else if (name === "rtpmap" && current) {
        const m = /^(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(value.slice(colon + 1));
        if (m) {
          current.rtpmap.set(Number(m[1]), {
            encoding: m[2]!,
            clockRate: Number(m[3]),
            channels: m[4] ? Number(m[4]) : 1,
          });
        }
      }
    }
  }
  return out;
}
