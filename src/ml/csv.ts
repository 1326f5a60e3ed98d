import { QoelabError } from "../errors.ts";

/**
 * RFC 4180 CSV: fields separated by commas, records by CRLF (LF alone is accepted too), fields
 * with commas, quotes or line breaks enclosed in double quotes, a quote inside doubled (`""`).
 * Returns the raw text of every field; a final line break does not start an empty record.
 */
export function parseCsv(text: string, name = "<csv>"): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  let line = 1;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // byte-order mark
  let atFieldStart = true;
  while (i < n) {
    const ch = text[i]!;
    if (atFieldStart && ch === '"') {
      const startLine = line;
      i++;
      for (;;) {
        if (i >= n)
          throw new QoelabError(
            "ML_CSV_UNTERMINATED_QUOTE",
            `${name}: quoted field opened on line ${startLine} never ends`,
            {
              file: name,
              line: startLine,
            },
          );
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === "\n") line++;
        field += c;
        i++;
      }
      const after = text[i];
      if (after !== undefined && after !== "," && after !== "\n" && after !== "\r")
        throw new QoelabError(
          "ML_CSV_BAD_QUOTE",
          `${name}: line ${line}: text after a closing quote (fields with quotes must be wholly quoted)`,
          { file: name, line },
        );
      atFieldStart = false;
      continue;
    }
    if (ch === ",") {
      record.push(field);
      field = "";
      atFieldStart = true;
      i++;
    } else if (ch === "\r" || ch === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      atFieldStart = true;
      i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
    } else {
      field += ch;
      atFieldStart = false;
      i++;
    }
  }
  if (!atFieldStart || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}
