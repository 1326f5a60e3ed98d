import { Dissection, dissect } from "../src/packet/dissect.ts";
import { forEachPacket } from "../src/packet/index.ts";

export interface PcapReadBench {
  file: string;
  packets: number;
  /** Read only (parse records, touch timestamps). */
  readPacketsPerSecond: number;
  /** Read + fast-path dissect down to transport ports. */
  dissectPacketsPerSecond: number;
  readSeconds: number;
  dissectSeconds: number;
  /** The same rates over CPU time (user + system) of this process: steadier on a busy machine. */
  readPacketsPerCpuSecond: number;
  dissectPacketsPerCpuSecond: number;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** Reads `file` twice on one core: parsing only, then parsing + dissecting to ports. */
export async function benchPcapRead(file: string): Promise<PcapReadBench> {
  // Warm the page cache and the JIT so both timed passes see the same conditions.
  await forEachPacket(file, () => {});
  let checksum = 0;
  let cpu = process.cpuUsage();
  let start = process.hrtime.bigint();
  const read = await forEachPacket(file, (r) => {
    checksum += r.tsNsec + r.caplen;
  });
  const readSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const readCpu = cpuSeconds(cpu);
  const dissection = new Dissection();
  let ports = 0;
  cpu = process.cpuUsage();
  start = process.hrtime.bigint();
  await forEachPacket(file, (r) => {
    dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, dissection);
    ports += dissection.srcPort ^ dissection.dstPort;
  });
  const dissectSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const dissectCpu = cpuSeconds(cpu);
  if (checksum < 0 || ports < 0) throw new Error("unreachable");
  return {
    file,
    packets: read.packets,
    readPacketsPerSecond: read.packets / readSeconds,
    dissectPacketsPerSecond: read.packets / dissectSeconds,
    readSeconds,
    dissectSeconds,
    readPacketsPerCpuSecond: read.packets / readCpu,
    dissectPacketsPerCpuSecond: read.packets / dissectCpu,
  };
}

const invokedDirectly = process.argv[1] !== undefined && /pcap-read\.[jt]s$/.test(process.argv[1]);
if (invokedDirectly) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write("usage: tsx bench/pcap-read.ts FILE.pcap\n");
    process.exit(2);
  }
  const result = await benchPcapRead(file);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
