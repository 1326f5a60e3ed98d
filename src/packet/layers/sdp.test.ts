import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readUdpPayloads, tsharkFields } from "../test-support/udp-payloads.ts";
import { encodeSdp, parseSdp, sdpDirection, sdpMediaEndpoints, sdpRtpMaps } from "./sdp.ts";
import { decodeSip, sipBodyText, sipContentType } from "./sip.ts";

const CAPTURES = ["test-data/sip/baresip-call.pcap", "test-data/sip/baresip-call-loss5.pcap"];

/** The example session description of RFC 8866 §5. */
const RFC_8866_EXAMPLE = [
  "v=0",
  "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1",
  "s=Call to John Smith",
  "i=SDP Offer #1",
  "u=http://www.jdoe.example.com/home.html",
  "e=Jane Doe <jane@jdoe.example.com>",
  "p=+1 617 555-6011",
  "c=IN IP4 198.51.100.1",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0",
  "m=audio 49180 RTP/AVP 0",
  "m=video 51372 RTP/AVP 99",
  "c=IN IP6 2001:db8::2",
  "a=rtpmap:99 h263-1998/90000",
  "",
].join("\r\n");

describe("SDP", () => {
  test("RFC 8866 §5 example: every field, and byte-identical re-encoding", () => {
    const { session, anomalies, complete } = parseSdp(RFC_8866_EXAMPLE);
    assert.deepEqual(anomalies, []);
    assert.equal(complete, true);
    assert.deepEqual(session.origin, {
      username: "jdoe",
      sessionId: "3724394400",
      sessionVersion: "3724394405",
      netType: "IN",
      addrType: "IP4",
      address: "198.51.100.1",
    });
    assert.equal(session.sessionName, "Call to John Smith");
    assert.equal(session.information, "SDP Offer #1");
    assert.equal(session.uri, "http://www.jdoe.example.com/home.html");
    assert.deepEqual(session.emails, ["Jane Doe <jane@jdoe.example.com>"]);
    assert.deepEqual(session.phones, ["+1 617 555-6011"]);
    assert.equal(session.media.length, 3);
    assert.equal(session.media[2]?.connections[0]?.address, "2001:db8::2");
    assert.deepEqual(sdpRtpMaps(session.media[2]!), [
      { payloadType: 99, encoding: "h263-1998", clockRate: 90000, channels: null, fmtp: null },
    ]);
    assert.equal(encodeSdp(session), RFC_8866_EXAMPLE);
    const endpoints = sdpMediaEndpoints(session);
    assert.deepEqual(
      endpoints.map((e) => [e.media, e.address, e.port, e.payloadTypes, e.rtcpPort]),
      [
        ["audio", "198.51.100.1", 49170, [0], 49171],
        ["audio", "198.51.100.1", 49180, [0], 49181],
        ["video", "2001:db8::2", 51372, [99], 51373],
      ],
    );
    assert.equal(endpoints[0]?.rtpmap[0]?.encoding, "PCMU");
    assert.equal(endpoints[2]?.rtpmap[99]?.clockRate, 90000);
  });

  test("multicast connections, port counts, bandwidth, repeats, directions, rtcp attributes", () => {
    const text = [
      "v=0",
      "o=- 1 2 IN IP4 10.0.0.1",
      "s=-",
      "c=IN IP4 233.252.0.1/127/3",
      "b=AS:128",
      "t=3034423619 3042462419",
      "r=7d 1h 0 25h",
      "a=recvonly",
      "m=audio 49230/2 RTP/AVP 96 8",
      "c=IN IP6 ff15::101/3",
      "a=rtpmap:96 opus/48000/2",
      "a=fmtp:96 useinbandfec=1",
      "a=rtcp:53020",
      "a=ptime:20",
      "m=video 0 RTP/AVP 31",
      "a=inactive",
      "a=rtcp-mux",
      "",
    ].join("\r\n");
    const { session, anomalies } = parseSdp(text);
    assert.deepEqual(anomalies, []);
    assert.deepEqual(session.connection, {
      netType: "IN",
      addrType: "IP4",
      address: "233.252.0.1",
      ttl: 127,
      count: 3,
    });
    assert.deepEqual(session.media[0]?.connections[0], {
      netType: "IN",
      addrType: "IP6",
      address: "ff15::101",
      ttl: null,
      count: 3,
    });
    assert.equal(session.media[0]?.portCount, 2);
    assert.deepEqual(session.timing[0]?.repeats, ["7d 1h 0 25h"]);
    assert.equal(sdpDirection(session.media[0]!, session), "recvonly");
    assert.equal(sdpDirection(session.media[1]!, session), "inactive");
    const [audio, video] = sdpMediaEndpoints(session);
    assert.deepEqual(audio?.rtpmap[96], {
      payloadType: 96,
      encoding: "opus",
      clockRate: 48000,
      channels: 2,
      fmtp: "useinbandfec=1",
    });
    assert.equal(audio?.rtpmap[8]?.encoding, "PCMA");
    assert.equal(audio?.rtcpPort, 53020);
    assert.equal(audio?.ptime, 20);
    assert.equal(video?.rtcpPort, 0);
    assert.equal(encodeSdp(session), text);
  });

  test("malformed lines are anomalies, never throws; LF-only input parses", () => {
    const { session, anomalies, complete } = parseSdp(
      "v=x\nbogus\nQ=upper\nm=audio port RTP/AVP 0\na=after-bad-m\nc=IN\n",
    );
    assert.equal(complete, false);
    assert.deepEqual(
      anomalies.map((a) => a.code),
      ["bad-syntax", "bad-syntax", "bad-syntax", "bad-syntax", "bad-syntax", "truncated"],
    );
    assert.equal(session.media.length, 0);
    assert.equal(session.attributes.length, 0, "attributes of a broken m= section are not the session's");
    const lf = parseSdp(RFC_8866_EXAMPLE.replaceAll("\r\n", "\n"));
    assert.deepEqual(lf.anomalies, []);
    const bytes = new TextEncoder().encode(RFC_8866_EXAMPLE);
    for (let n = 0; n <= bytes.length; n++) parseSdp(bytes.subarray(0, n));
  });

  for (const capture of CAPTURES) {
    test(`agrees with tshark on ${capture}; endpoints match the RTP flows`, () => {
      const fields = [
        "sdp.version",
        "sdp.owner.username",
        "sdp.owner.sessionid",
        "sdp.owner.address",
        "sdp.session_name",
        "sdp.connection_info.address",
        "sdp.media.media",
        "sdp.media.port",
        "sdp.media.proto",
        "sdp.media_attribute.field",
      ];
      const expected = tsharkFields(capture, "sdp", fields);
      const rtp = tsharkFields(capture, "rtp", ["udp.srcport", "udp.dstport"]);
      const rtpPorts = new Set([...rtp.values()].flatMap((r) => [Number(r["udp.srcport"]), Number(r["udp.dstport"])]));
      assert.equal(expected.size, 2, "offer and answer");
      let compared = 0;
      for (const udp of readUdpPayloads(capture)) {
        const row = expected.get(udp.frame);
        if (!row) continue;
        const sip = decodeSip(udp.bytes, 0, udp.bytes.length).message!;
        assert.equal(sipContentType(sip), "application/sdp");
        const { session, anomalies } = parseSdp(sip.body);
        assert.deepEqual(anomalies, []);
        const m = session.media[0]!;
        const mine = {
          "sdp.version": String(session.version),
          "sdp.owner.username": session.origin?.username ?? "",
          "sdp.owner.sessionid": session.origin?.sessionId ?? "",
          "sdp.owner.address": session.origin?.address ?? "",
          "sdp.session_name": session.sessionName,
          "sdp.connection_info.address": session.connection?.address ?? "",
          "sdp.media.media": m.media,
          "sdp.media.port": String(m.port),
          "sdp.media.proto": m.proto,
          // tshark gives a field name only for attributes with a value (not a=sendrecv).
          "sdp.media_attribute.field": m.attributes
            .filter((a) => a.value !== null)
            .map((a) => a.name)
            .join("|"),
        };
        assert.deepEqual(mine, row, `frame ${udp.frame}`);
        assert.equal(encodeSdp(session), sipBodyText(sip), `frame ${udp.frame} re-encodes identically`);
        const [endpoint] = sdpMediaEndpoints(session);
        assert.ok(endpoint && rtpPorts.has(endpoint.port), `frame ${udp.frame}: RTP flows use port ${endpoint?.port}`);
        assert.deepEqual(endpoint.payloadTypes, [0, 101]);
        assert.equal(endpoint.rtpmap[0]?.encoding, "PCMU");
        assert.equal(endpoint.rtpmap[101]?.encoding, "telephone-event");
        assert.equal(endpoint.ptime, 20);
        compared++;
      }
      assert.equal(compared, 2);
    });
  }
});
