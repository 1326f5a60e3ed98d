import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { startCapture } from "../../capture/index.ts";
import { killLabProcesses, type Lab, labUp, trafficIface } from "../../netlab/index.ts";
import { type OriginProcess, startOriginProcess } from "../origin/origin-process.ts";
import { launchPlayerBrowser } from "../player/player-browser.ts";
import { directPersonPath } from "../session/person-sessions.ts";
import { watchedCapture } from "../session/watched-capture.ts";
import type { LabOperator, OperatorCapture } from "./lab-operator.ts";
import { labShaper, startTraceLink } from "./lab-shaper.ts";

/**
 * The lab operator of a process that runs as root: namespaces, tc, tcpdump, the origin and the
 * browser are started by this process itself, and the player's requests are answered in-process
 * by `handle` (the web app's fetch).
 */
export function directLabOperator(handle: (request: Request) => Promise<Response>): LabOperator {
  const origins = new Map<string, OriginProcess>();
  return {
    kind: "direct",
    captureDir: undefined,
    shape: (lab, mbps, training) => labShaper.shape(lab, mbps, training),
    clear: (lab) => labShaper.clear(lab),
    shapeTrace: (lab, request, training) => startTraceLink(lab, request, training),
    labUp: (options) => labUp(options),

    cleanSlot: (lab: Lab) => killLabProcesses(lab),

    async startOrigin(lab, root, port) {
      if (origins.get(lab.name)?.alive()) return;
      origins.set(lab.name, await startOriginProcess({ netns: lab.hosts.server.netns, root, port }));
    },

    async startCapture(lab, options): Promise<OperatorCapture> {
      mkdirSync(dirname(options.file), { recursive: true });
      const client = lab.hosts.client;
      const capture = await startCapture({
        netns: client.netns,
        iface: await trafficIface(lab, "client"),
        file: options.file,
        snaplen: options.snaplen,
        ...(options.filter ? { filter: options.filter } : {}),
      });
      return watchedCapture(capture);
    },

    launchPlayer: (lab) => launchPlayerBrowser({ netns: lab.hosts.client.netns, handle }),
    personPath: directPersonPath,

    async close() {
      for (const origin of origins.values()) await origin.stop();
      origins.clear();
    },
  };
}
