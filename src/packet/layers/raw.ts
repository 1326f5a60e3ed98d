import { concatBytes } from "../byte-order.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer } from "../layer-def.ts";
import { previewBytes, printable } from "../show-format.ts";

/*
 * Bytes no decoder claimed (`Raw`: a payload, or a header cut short, named by `undecoded`) and the
 * link-layer trailer after the network packet (`Padding`: Ethernet's minimum-frame padding).
 */

/** The fields Raw and Padding share. */
interface DataFields {
  data: Uint8Array;
  undecoded?: string;
}

const encodeData = (layer: { fields: DataFields }, payload: Uint8Array) => concatBytes(layer.fields.data, payload);
const dataSize = (layer: { fields: DataFields }) => layer.fields.data.length;

/** `text`: also the bytes as text when they are printable (a payload, not padding). */
function dataRows(f: DataFields, text: boolean): ShowRow[] {
  const rows: ShowRow[] = [["data", previewBytes(f.data), `${f.data.length} bytes`]];
  const printed = text ? printable(f.data) : undefined;
  if (printed !== undefined) rows.push(["text", printed]);
  if (f.undecoded !== undefined) rows.push(["undecoded", f.undecoded, "header could not be decoded"]);
  return rows;
}

export const rawLayer = defineLayer({
  type: "Raw",
  info: { title: "Raw", tcpip: "application", osi: 7 },
  encode: encodeData,
  size: dataSize,
  rows: ({ fields: f }) => dataRows(f, true),
  summary: ({ fields: f }) =>
    f.undecoded !== undefined ? `Raw ${f.data.length} bytes (undecoded ${f.undecoded})` : `Raw ${f.data.length} bytes`,
});

export const paddingLayer = defineLayer({
  type: "Padding",
  info: { title: "Padding", tcpip: "link", osi: 2 },
  encode: encodeData,
  size: dataSize,
  rows: ({ fields: f }) => dataRows(f, false),
  summary: ({ fields: f }) => `Padding ${f.data.length} bytes`,
});
