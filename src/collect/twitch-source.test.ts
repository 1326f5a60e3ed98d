import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { QoelabError } from "../errors.ts";
import { type TwitchConfig, twitchAppToken, twitchPlaylistUrl, twitchTopChannels } from "./twitch-source.ts";

// A local stand-in speaking the documented Twitch endpoints (OAuth client credentials, Helix Get
// Streams) and the web player's playback-token call, checking what a client must send.
const stand = new Hono();
stand.post("/oauth2/token", async (c) => {
  const form = await c.req.parseBody();
  if (form.grant_type !== "client_credentials") return c.json({ status: 400, message: "bad grant" }, 400);
  if (form.client_id !== "cid" || form.client_secret !== "secret")
    return c.json({ status: 403, message: "invalid client secret" }, 403);
  return c.json({ access_token: "apptoken", expires_in: 5000000, token_type: "bearer" });
});
stand.get("/helix/streams", (c) => {
  if (c.req.header("authorization") !== "Bearer apptoken" || c.req.header("client-id") !== "cid")
    return c.json({ error: "Unauthorized", status: 401, message: "Invalid OAuth token" }, 401);
  const first = Number(c.req.query("first"));
  const all = [
    { user_login: "quiet", user_name: "Quiet", viewer_count: 10, type: "live", game_name: "Chess", title: "q" },
    {
      user_login: "big_one",
      user_name: "Big",
      viewer_count: 90000,
      type: "live",
      game_name: "Just Chatting",
      title: "b",
    },
    { user_login: "mid", user_name: "Mid", viewer_count: 5000, type: "live", game_name: "Music", title: "m" },
  ];
  return c.json({ data: all.slice(0, first), pagination: {} });
});
stand.post("/gql", async (c) => {
  const body = (await c.req.json()) as { query: string };
  const login = /channelName: "(\w+)"/.exec(body.query)?.[1];
  if (c.req.header("client-id") !== "webclient") return c.json({ error: "no client id" }, 400);
  if (login === "offline") return c.json({ data: { streamPlaybackAccessToken: null } });
  return c.json({ data: { streamPlaybackAccessToken: { value: `{"channel":"${login}"}`, signature: "abc123" } } });
});

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
