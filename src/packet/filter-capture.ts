import { forEachPacket } from "./capture-reader.ts";
import { createRawCaptureWriter } from "./capture-writer.ts";
import { Dissection, dissect } from "./dissect.ts";
import { compileFilter } from "./filter-compile.ts";

export interface FilterCaptureSummary {
  input: string;
  output: string;
  filter: string;
  format: "pcap" | "pcapng" | "snoop" | undefined;
  packets: number;
  matched: number;
  /** Captured bytes of the matched packets. */
  matchedBytes: number;
}

/**
 * Copies the packets of `input` that match the pcap-filter `expression` to `output`, keeping the
 * input's format byte for byte: file header, section and interface blocks, and every kept packet
 * unit (with its pcapng options) are copied as they are. The filter is compiled before the
 * output file is created, so a bad filter leaves nothing behind.
 */
export async function filterCaptureFile(
  input: string,
  output: string,
  expression: string,
): Promise<FilterCaptureSummary> {
  const filter = compileFilter(expression);
  const dissection = new Dissection();
  const writer = createRawCaptureWriter(output);
  let matched = 0;
  let matchedBytes = 0;
  try {
    const summary = await forEachPacket(
      input,
      (record, parser) => {
        dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, dissection);
        if (!filter.matches(record, dissection)) return;
        matched++;
        matchedBytes += record.caplen;
        writer.writeRaw(parser.unitBuffer, parser.unitOffset, parser.unitLength);
      },
      { onBlock: (parser) => writer.writeRaw(parser.unitBuffer, parser.unitOffset, parser.unitLength) },
    );
    return {
      input,
      output,
      filter: expression,
      format: summary.format,
      packets: summary.packets,
      matched,
      matchedBytes,
    };
  } finally {
    await writer.close();
  }
}
