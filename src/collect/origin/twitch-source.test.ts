import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { serve } from "@hono/node-server";
import { QoelabError } from "../../errors.ts";
import { twitchStandIn } from "../test-support/twitch-stand-in.ts";
import { type TwitchConfig, twitchAppToken, twitchPlaylistUrl, twitchTopChannels } from "./twitch-source.ts";

// A local stand-in speaking the documented Twitch endpoints (test-support/twitch-stand-in.ts).
const stand = twitchStandIn();

let server: ReturnType<typeof serve>;
let config: TwitchConfig;
before(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: stand.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve());
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config = {
    clientId: "cid",
    clientSecret: "secret",
    idUrl: base,
    apiUrl: base,
    gqlUrl: base,
    usherUrl: "https://usher.example",
    webClientId: "webclient",
  };
});
after(() => server?.close());

test("top live channels, most viewers first, with the app token", async () => {
  const channels = await twitchTopChannels(config, 3);
  assert.deepEqual(
    channels.map((c) => [c.login, c.viewers]),
    [
      ["big_one", 90000],
      ["mid", 5000],
      ["quiet", 10],
    ],
  );
  assert.equal(await twitchAppToken(config), "apptoken");
});

test("a channel's playlist URL carries the playback token and signature", async () => {
  const url = new URL(await twitchPlaylistUrl(config, "big_one"));
  assert.equal(url.pathname, "/api/channel/hls/big_one.m3u8");
  assert.equal(url.searchParams.get("sig"), "abc123");
  assert.equal(url.searchParams.get("token"), '{"channel":"big_one"}');
});

test("wrong credentials, offline channels and bad names are clear errors", async () => {
  await assert.rejects(twitchTopChannels({ ...config, clientSecret: "nope" }, 3), (e: unknown) => {
    assert.ok(e instanceof QoelabError);
    assert.equal(e.code, "TWITCH_AUTH_FAILED");
    assert.match(e.message, /invalid client secret/);
    return true;
  });
  await assert.rejects(twitchPlaylistUrl(config, "offline"), /TWITCH_OFFLINE|offline/);
  await assert.rejects(
    twitchPlaylistUrl(config, "a b/../c"),
    (e: unknown) => e instanceof QoelabError && e.code === "TWITCH_BAD_LOGIN",
  );
  await assert.rejects(
    twitchTopChannels({ ...config, apiUrl: "http://127.0.0.1:1" }, 3, "apptoken"),
    (e: unknown) => e instanceof QoelabError && e.code === "TWITCH_UNREACHABLE",
  );
});
