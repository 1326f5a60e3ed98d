import { concatBytes } from "../byte-order.ts";
import type { LayerInfo, ShowRow } from "../layer.ts";
import { defineLayer, type LayerDef } from "../layer-def.ts";
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

/** `text`: also the bytes as text when they are printable (a payload, not padding). */
function dataRows(f: DataFields, text: boolean): ShowRow[] {
  const rows: ShowRow[] = [["data", previewBytes(f.data), `${f.data.length} bytes`]];
  const printed = text ? printable(f.data) : undefined;
  if (printed !== undefined) rows.push(["text", printed]);
  if (f.undecoded !== undefined) rows.push(["undecoded", f.undecoded, "header could not be decoded"]);
  return rows;
}

/** Raw and Padding differ in where they sit, whether their bytes are shown as text, and their summary. */
function dataLayer<T extends "Raw" | "Padding">(
  type: T,
  info: LayerInfo,
  text: boolean,
  summary: (f: DataFields) => string,
): LayerDef<T> {
  return defineLayer<T>({
    type,
    info,
    encode: (layer, payload) => concatBytes(layer.fields.data, payload),
    size: (layer) => layer.fields.data.length,
    rows: ({ fields: f }) => dataRows(f, text),
    summary: ({ fields: f }) => summary(f),
  });
}

export const rawLayer = dataLayer("Raw", { title: "Raw", tcpip: "application", osi: 7 }, true, (f) =>
  f.undecoded !== undefined ? `Raw ${f.data.length} bytes (undecoded ${f.undecoded})` : `Raw ${f.data.length} bytes`,
);

export const paddingLayer = dataLayer(
  "Padding",
  { title: "Padding", tcpip: "link", osi: 2 },
  false,
  (f) => `Padding ${f.data.length} bytes`,
);
