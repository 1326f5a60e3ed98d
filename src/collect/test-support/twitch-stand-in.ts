import { Hono } from "hono";

/**
 * Test helper: a local stand-in speaking the documented Twitch endpoints (OAuth client credentials,
 * Helix Get Streams) and the web player's playback-token call, checking what a client must send.
 * Credentials it accepts: client id "cid", secret "secret", web client id "webclient". Channel
 * "offline" has no playback token. The usher (the playlists) is not part of it.
 */
export function twitchStandIn(): Hono {
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
    // Helix lists live streams by viewers, most first; `first` takes the top ones.
    const top = [...all].sort((a, b) => b.viewer_count - a.viewer_count).slice(0, first);
    return c.json({ data: top, pagination: {} });
  });
  stand.post("/gql", async (c) => {
    const body = (await c.req.json()) as { query: string };
    const login = /channelName: "(\w+)"/.exec(body.query)?.[1];
    if (c.req.header("client-id") !== "webclient") return c.json({ error: "no client id" }, 400);
    if (login === "offline") return c.json({ data: { streamPlaybackAccessToken: null } });
    return c.json({ data: { streamPlaybackAccessToken: { value: `{"channel":"${login}"}`, signature: "abc123" } } });
  });
  return stand;
}
