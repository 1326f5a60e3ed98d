import { existsSync } from "node:fs";
import { QoelabError } from "../../errors.ts";

/**
 * The Twitch video source: the top live channels from the Helix API (app access token from the
 * client id and secret in `.env`), and each channel's HLS playlist. Helix itself has no playback
 * endpoint: the playlist comes from the endpoints Twitch's own web player uses (a playback access
 * token from its GraphQL API, then the usher playlist), which Twitch may change without notice.
 * Every base URL can be pointed elsewhere (tests use a local stand-in).
 */
export interface TwitchConfig {
  clientId: string;
  clientSecret: string;
  idUrl: string;
  apiUrl: string;
  gqlUrl: string;
  usherUrl: string;
  /** The public client id of Twitch's web player, which its GraphQL API expects. */
  webClientId: string;
}

export interface TwitchChannel {
  login: string;
  name: string;
  viewers: number;
  game: string;
  title: string;
}

/** Reads TWITCH_CLIENT_ID / TWITCH_CLIENT_SECRET from the environment, after loading `.env` if present. */
export function twitchConfigFromEnv(envFile = ".env"): TwitchConfig {
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  const clientId = process.env.TWITCH_CLIENT_ID ?? "";
  const clientSecret = process.env.TWITCH_CLIENT_SECRET ?? "";
  if (!clientId || !clientSecret) {
    throw new QoelabError(
      "TWITCH_NO_CREDENTIALS",
      `twitch: TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET must be set (in ${envFile} or the environment); register an application at dev.twitch.tv`,
    );
  }
  return {
    clientId,
    clientSecret,
    idUrl: process.env.TWITCH_ID_URL ?? "https://id.twitch.tv",
    apiUrl: process.env.TWITCH_API_URL ?? "https://api.twitch.tv",
    gqlUrl: process.env.TWITCH_GQL_URL ?? "https://gql.twitch.tv",
    usherUrl: process.env.TWITCH_USHER_URL ?? "https://usher.ttvnw.net",
    webClientId: process.env.TWITCH_WEB_CLIENT_ID ?? "kimne78kx3ncx6brgo4mv6wki5h1ko",
  };
}

async function fetchJson(url: string, init: RequestInit, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    throw new QoelabError(
      "TWITCH_UNREACHABLE",
      `twitch: ${what}: cannot reach ${new URL(url).origin}: ${String(error)}`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    const code = response.status === 401 || response.status === 403 ? "TWITCH_AUTH_FAILED" : "TWITCH_API_ERROR";
    throw new QoelabError(code, `twitch: ${what}: HTTP ${response.status} ${text.slice(0, 200)}`, {
      status: response.status,
    });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new QoelabError("TWITCH_API_ERROR", `twitch: ${what}: answer is not JSON`);
  }
}

/** OAuth client-credentials flow: an app access token. */
export async function twitchAppToken(config: TwitchConfig): Promise<string> {
  const body = new URLSearchParams({
    client_id: config.clientId,
    client_secret: config.clientSecret,
    grant_type: "client_credentials",
  });
  const answer = (await fetchJson(`${config.idUrl}/oauth2/token`, { method: "POST", body }, "app access token")) as {
    access_token?: unknown;
  };
  if (typeof answer.access_token !== "string")
    throw new QoelabError("TWITCH_API_ERROR", "twitch: the token answer has no access_token");
  return answer.access_token;
}

/** The `count` live channels with the most viewers (Helix Get Streams, sorted by viewers). */
export async function twitchTopChannels(config: TwitchConfig, count: number, token?: string): Promise<TwitchChannel[]> {
  const bearer = token ?? (await twitchAppToken(config));
  const answer = (await fetchJson(
    `${config.apiUrl}/helix/streams?first=${Math.min(100, Math.max(1, count))}&type=live`,
    { headers: { Authorization: `Bearer ${bearer}`, "Client-Id": config.clientId } },
    "Get Streams",
  )) as { data?: Array<Record<string, unknown>> };
  const data = Array.isArray(answer.data) ? answer.data : [];
  return data
    .filter((s) => s.type === "live" && typeof s.user_login === "string")
    .map((s) => ({
      login: String(s.user_login),
      name: String(s.user_name ?? s.user_login),
      viewers: Number(s.viewer_count ?? 0),
      game: String(s.game_name ?? ""),
      title: String(s.title ?? ""),
    }))
    .sort((a, b) => b.viewers - a.viewers)
    .slice(0, count);
}

/** The HLS master playlist URL of a live channel. */
export async function twitchPlaylistUrl(config: TwitchConfig, login: string): Promise<string> {
  if (!/^[a-zA-Z0-9_]{1,25}$/.test(login)) throw new QoelabError("TWITCH_BAD_LOGIN", `twitch: bad channel "${login}"`);
  const query = `query { streamPlaybackAccessToken(channelName: "${login}", params: {platform: "web", playerBackend: "mediaplayer", playerType: "site"}) { value signature } }`;
  const answer = (await fetchJson(
    `${config.gqlUrl}/gql`,
    {
      method: "POST",
      headers: { "Client-ID": config.webClientId, "content-type": "application/json" },
      body: JSON.stringify({ query }),
    },
    `playback token of ${login}`,
  )) as { data?: { streamPlaybackAccessToken?: { value?: string; signature?: string } | null } };
  const token = answer.data?.streamPlaybackAccessToken;
  if (!token?.value || !token.signature)
    throw new QoelabError("TWITCH_OFFLINE", `twitch: channel ${login} has no playback token (offline?)`);
  const params = new URLSearchParams({
    sig: token.signature,
    token: token.value,
    allow_source: "true",
    player: "twitchweb",
    p: String(Math.floor(Math.random() * 1e6)),
  });
  return `${config.usherUrl}/api/channel/hls/${login}.m3u8?${params}`;
}
