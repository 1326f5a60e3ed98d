import { Dissection, dissect, type PacketRecord } from "../packet/index.ts";
import { extractFlowPacket, extractInnerFlowPacket } from "./extract-flow-packet.ts";
import { FlowPacket } from "./flow-packet.ts";
import { createShardEngine, type FlowEngineOptions, type ShardEngine } from "./shard-engine.ts";
import { SweepClock } from "./sweep-clock.ts";

export type { PacketPredicate } from "./flow-packet.ts";
export { clientByPorts, type FlowEngineOptions, type ShardEngine } from "./shard-engine.ts";

/** The flow engine on whole packets (file or live): `push` every packet, then `finish`. */
export interface FlowEngine extends ShardEngine {
  /** Accounts one packet (records may be reused by the caller after the call). */
  push(record: PacketRecord): void;
}

/**
 * Creates a streaming flow engine: each pushed packet ticks the sweep clock, is dissected and
 * extracted (IP fragments reassembled, the filter applied) and accounted by the shard engine.
 */
export function createFlowEngine(options: FlowEngineOptions = {}): FlowEngine {
  const shard = createShardEngine(options);
  const trackTcp = options.protocols !== "udp";
  const trackUdp = options.protocols !== "tcp";
  const filter = options.filter;
  const clock = new SweepClock();
  const d = new Dissection();
  const packet = new FlowPacket();
  const accept = shard.accept;
  const tunnels = options.tunnels === "both";
  const innerDissection = new Dissection();
  let packetNumber = -1;
  return {
    push(record: PacketRecord): void {
      packetNumber++;
      clock.tick(record.tsSec, record.tsNsec, shard);
      dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, d);
      const used = extractFlowPacket(record, d, packetNumber, trackTcp, trackUdp, filter, packet);
      accept(packet);
      if (
        tunnels &&
        extractInnerFlowPacket(used, d, innerDissection, packetNumber, trackTcp, trackUdp, filter, packet)
      ) {
        accept(packet);
      }
    },
    setBase: shard.setBase,
    sweepAt: shard.sweepAt,
    accept: shard.accept,
    finish: shard.finish,
    finishPartial: shard.finishPartial,
    get liveFlows() {
      return shard.liveFlows;
    },
  };
}
