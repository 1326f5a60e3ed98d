import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIpv4Number } from "../common/index.ts";
import { NOT_RTP, SdpEndpoints } from "./sdp-endpoints.ts";
import { parseSdpMedia } from "./sdp-media.ts";

const bytes = (text: string) => new TextEncoder().encode(text.replaceAll("\n", "\r\n"));

function media(endpoints: SdpEndpoints, address: string, port: number) {
  return endpoints.lookup4(parseIpv4Number(address)!, port);
}

describe("SDP endpoints", () => {
  it("a v= line starts a new session: its c= belongs to its own m= lines, not the previous session's", () => {
    const sessions = parseSdpMedia(
      "v=0\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 8\nv=0\nc=IN IP4 10.0.0.2\nm=image 4002 udptl t38\n",
    );
    assert.deepEqual(
      sessions.map((m) => [m.media, m.address, m.port, m.protocol]),
      [
        ["audio", "10.0.0.1", 4000, "RTP/AVP"],
        ["image", "10.0.0.2", 4002, "udptl"],
      ],
    );
  });

  it("reads the SDP of text MEGACO's Local and Remote descriptors, compact and long tokens", () => {
    const endpoints = new SdpEndpoints();
    // The compact form, as FAX-Call-t38-CA-TDM-SIP-FB-1.pcap frame 1434 has it.
    const compact = bytes(
      "!/1 <iMSS>\nT=555282751{C=191{MF=RTP/1727{M{O{MO=SR,RV=ON,RG=ON},L{v=0\nc=IN IP4 10.23.1.52\n" +
        "m=audio 16756 RTP/AVP 8 102\na=rtpmap:102 telephone-event/8000\nv=0\nc=IN IP4 10.23.1.52\n" +
        "m=image 16756 udptl t38\n},R{v=0\nc=IN IP4 10.35.60.100\nt=0 0\nm=audio 15580 RTP/AVP 8 102\n" +
        "a=rtpmap:102 telephone-event/8000\nv=0\nc=IN IP4 10.35.60.100\nm=image 0 udptl t38\n}}}}}",
    );
    endpoints.sniff(compact, 0, compact.length);
    // The later image/udptl line on the same endpoint wins: tshark decodes it as T.38 from then on.
    assert.equal(media(endpoints, "10.23.1.52", 16756), NOT_RTP);
    const remote = media(endpoints, "10.35.60.100", 15580);
    assert.ok(remote instanceof Map);
    assert.deepEqual(remote.get(102), { encoding: "telephone-event", clockRate: 8000 });
    // Long tokens; the endpoint goes back to RTP when a later SDP says so.
    const long = bytes(
      "MEGACO/1 [10.23.1.42]:2944\nReply = 10 {\n Context = 5 {\n  Modify = RTP/1 {\n   Media {\n" +
        "    Local {\nv=0\nc=IN IP4 10.23.1.52\nm=audio 16756 RTP/AVP 0\n    }\n   }\n  }\n }\n}\n",
    );
    endpoints.sniff(long, 0, long.length);
    assert.ok(media(endpoints, "10.23.1.52", 16756) instanceof Map);
    assert.equal(endpoints.sdpSeen, true);
  });

  it("leaves alone text that is not MEGACO and descriptors that hold no SDP", () => {
    const endpoints = new SdpEndpoints();
    for (const text of [
      "MEGAC0 L{v=0\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\n}",
      "!/1 <x>\nT=1{C=2{A=x{M{L{ds0}}}}}",
    ]) {
      const b = bytes(text);
      endpoints.sniff(b, 0, b.length);
    }
    assert.equal(endpoints.size, 0);
  });
});
