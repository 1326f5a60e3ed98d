import { spawnSync } from "node:child_process";
import { type OriginProcess, startOriginProcess } from "../origin/origin-process.ts";

/*
 * "The internet" for uplink tests, without the Internet: a namespace of its own joined to this host
 * by a veth (a /30 of 10.77.<octet>.0/24 chosen by the pid; test files running at the same time pass
 * different octets), serving a directory over HTTP on port 8080.
 * A lab whose uplink forwards reaches it through the host's masquerade; it has no route back to the
 * lab, so what it answers came through the uplink.
 */
export interface InternetStandIn {
  /** The stand-in's address (serves http://ADDRESS:8080/). */
  readonly address: string;
  stop(): Promise<void>;
}

function sh(argv: string[]): void {
  const result = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr}`);
}

export async function startInternetStandIn(name: string, root: string, octet = 252): Promise<InternetStandIn> {
  const slot = process.pid % 64;
  const netns = `qoelab-${name}-inet`;
  const rootIface = `${name}a`;
  const nsIface = `${name}b`;
  const address = `10.77.${octet}.${4 * slot + 2}`;
  let origin: OriginProcess | undefined;
  const stop = async () => {
    await origin?.stop();
    spawnSync("ip", ["link", "del", rootIface]);
    spawnSync("ip", ["netns", "del", netns]);
  };
  try {
    sh(["ip", "netns", "add", netns]);
    sh(["ip", "link", "add", rootIface, "type", "veth", "peer", "name", nsIface, "netns", netns]);
    sh(["ip", "addr", "add", `10.77.${octet}.${4 * slot + 1}/30`, "dev", rootIface]);
    sh(["ip", "link", "set", rootIface, "up"]);
    sh(["ip", "-n", netns, "addr", "add", `${address}/30`, "dev", nsIface]);
    sh(["ip", "-n", netns, "link", "set", nsIface, "up"]);
    sh(["ip", "-n", netns, "link", "set", "lo", "up"]);
    origin = await startOriginProcess({ netns, root, port: 8080 });
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, stop };
}
