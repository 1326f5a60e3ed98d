/**
 * The packet library's light entry: its protocol numbers, the Dissection record's anomaly bits and
 * the byte-order reads, importing none of the layers. A flow shard worker thread (flows/flow-worker.ts)
 * imports these instead of `packet/index.ts`, which evaluates every layer module: about 5 MB of
 * code and source per thread.
 */
export { readU16, readU32 } from "../byte-order.ts";
export { Anomaly } from "../dissection.ts";
export { EtherType, IpProto, TcpFlag, TcpOptionKind } from "../protocol-numbers.ts";
