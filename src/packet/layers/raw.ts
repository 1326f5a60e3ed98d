import { concatBytes } from "../byte-order.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer } from "../layer-def.ts";
import { previewBytes, printable } from "../show-format.ts";

/*
 * Bytes no decoder claimed (`Raw`: a payload, or a header cut short, named by `undecoded`) and the
 * link-layer trailer after the network packet (`Padding`: Ethernet's minimum-frame padding).
 */

export const rawLayer = defineLayer({
  type: "Raw",
  info: { title: "Raw", tcpip: "application", osi: 7 },
  encode: (layer, payload) => concatBytes(layer.fields.data, payload),
  size: (layer) => layer.fields.data.length,
  rows({ fields: f }) {
    const rows: ShowRow[] = [["data", previewBytes(f.data), `${f.data.length} bytes`]];
    const text = printable(f.data);
    if (text !== undefined) rows.push(["text", text]);
    if (f.undecoded !== undefined) rows.push(["undecoded", f.undecoded, "header could not be decoded"]);
    return rows;
  },
  summary: ({ fields: f }) =>
    f.undecoded !== undefined ? `Raw ${f.data.length} bytes (undecoded ${f.undecoded})` : `Raw ${f.data.length} bytes`,
});

export const paddingLayer = defineLayer({
  type: "Padding",
  info: { title: "Padding", tcpip: "link", osi: 2 },
  encode: (layer, payload) => concatBytes(layer.fields.data, payload),
  size: (layer) => layer.fields.data.length,
  rows({ fields: f }) {
    const rows: ShowRow[] = [["data", previewBytes(f.data), `${f.data.length} bytes`]];
    if (f.undecoded !== undefined) rows.push(["undecoded", f.undecoded, "header could not be decoded"]);
    return rows;
  },
  summary: ({ fields: f }) => `Padding ${f.data.length} bytes`,
});
