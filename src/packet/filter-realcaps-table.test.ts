import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { readCaptureBytes } from "./capture-reader.ts";
import { Dissection, dissect } from "./dissect.ts";
import { compileFilter } from "./filter-compile.ts";
import { isSupportedLinkType, linkTypeName } from "./link-type.ts";

/**
 * Oracle: tcpdump on every realcaps capture that capinfos and tcpdump both read, twenty common
 * filter expressions each (test-data/realcaps-tcpdump-filters.tsv, made once by
 * test-data/make-realcaps-tcpdump-filters.py). qoelab's filter keeps as many packets as tcpdump's,
 * except on link types no layer decodes (ARCNET, Juniper, IPNET, SLIP, MS/TP…), where it
 * matches no network protocol and libpcap reads into some of them.
 */
const REALCAPS = "../shared/data/realcaps";

test("twenty filters on every realcaps capture keep the packets tcpdump keeps", (t) => {
  const [header, ...rows] = readFileSync("test-data/realcaps-tcpdump-filters.tsv", "utf8").trim().split("\n");
  const expressions = header!.split("\t").slice(1);
  const filters = expressions.map((e) => compileFilter(e));
  const dissection = new Dissection();
  const differ: string[] = [];
  const undecodedLinks = new Set<string>();
  let equal = 0;
  let undecoded = 0;
  for (const row of rows) {
    const [file, ...expected] = row.split("\t");
    const counts = new Array<number>(filters.length).fill(0);
    let linkType = -1;
    readCaptureBytes(readFileSync(`${REALCAPS}/${file}`), (r) => {
      linkType = r.linkType;
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, dissection);
      filters.forEach((f, i) => {
        if (f.matches(r, dissection)) counts[i]!++;
      });
    });
    expected.forEach((want, i) => {
      if (want === "-") return; // tcpdump refuses the expression on this link type
      if (String(counts[i]) === want) equal++;
      else if (linkType >= 0 && !isSupportedLinkType(linkType)) {
        undecoded++;
        undecodedLinks.add(linkTypeName(linkType));
      } else differ.push(`${file}: ${expressions[i]}: qoelab ${counts[i]}, tcpdump ${want}`);
    });
  }
  t.diagnostic(
    `${rows.length} captures × ${expressions.length} filters: ${equal} counts equal tcpdump's; ${undecoded} differ on link types qoelab does not decode (${[...undecodedLinks].join(", ")})`,
  );
  assert.deepEqual(differ, []);
  assert.ok(equal > 20_000);
});
