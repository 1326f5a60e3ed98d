import { writeFileSync } from "node:fs";
import { isQoelabError } from "../errors.ts";
import { createFlowEngine } from "../flows/index.ts";
import { captureInfo, Dissection, decodePacket, dissect, readCaptureBytes, showLayer } from "../packet/index.ts";
import { analyzeSipCalls, RtpStreamAnalyzer } from "../voip/index.ts";

/** What one input did: read to the end, or refused with a coded error (QoelabError). */
export type FuzzOutcome = "read" | "rejected";

/** Packets per input that also go through the full layer decoder (`pcap show`'s path). */
const DECODED_PACKETS = 32;

/**
 * Runs one input through everything that reads captures: the reader, the dissector, the layer
 * decoder, flows (series and features on, UDP tunnels followed), RTP stream analysis, `pcap info`
 * and SIP call analysis (the last two read files, so the input is written to `scratchFile`). A
 * QoelabError is the only acceptable failure; anything else is thrown on as a crash.
 */
export async function runFuzzInput(bytes: Uint8Array, scratchFile: string): Promise<FuzzOutcome> {
  let outcome: FuzzOutcome = "read";
  const d = new Dissection();
  const engine = createFlowEngine({ series: true, features: true, tunnels: "both" });
  const rtp = new RtpStreamAnalyzer();
  let decoded = 0;
  try {
    readCaptureBytes(
      bytes,
      (record) => {
        dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, d);
        if (decoded < DECODED_PACKETS) {
          decoded++;
          const packet = decodePacket(
            record.buffer.subarray(record.offset, record.offset + record.caplen),
            record.linkType,
          );
          let previous: Parameters<typeof showLayer>[1];
          for (const layer of packet.layers) {
            showLayer(layer, previous);
            previous = layer;
          }
        }
        engine.push(record);
        rtp.packet(record);
      },
      { name: "fuzz-input", tolerateTruncatedTail: true },
    );
  } catch (error) {
    if (!isQoelabError(error)) throw error;
    outcome = "rejected";
  }
  // What was read before a refusal is still summarized, as the CLI's streaming commands do.
  JSON.stringify(engine.finish());
  try {
    JSON.stringify(rtp.finish("fuzz-input"));
  } catch (error) {
    if (!isQoelabError(error)) throw error;
  }
  writeFileSync(scratchFile, bytes);
  for (const step of [() => captureInfo(scratchFile), () => analyzeSipCalls(scratchFile)]) {
    try {
      JSON.stringify(await step());
    } catch (error) {
      if (!isQoelabError(error)) throw error;
      outcome = "rejected";
    }
  }
  return outcome;
}
