/**
 * RFC 4180 CSV, the one reader: fields separated by commas, records by CRLF (LF or CR alone too),
 * fields with commas, quotes or line breaks enclosed in double quotes, a quote inside doubled (`""`),
 * a leading byte-order mark skipped, a final line break starting no empty record.
 * Malformed quoting is data: the first problem is returned as `issue` (callers that must refuse it
 * throw their own coded error) and reading goes on leniently: text after a closing quote joins the
 * field, a quote never closed takes the rest of the text.
 */
export interface CsvIssue {
  kind: "unterminated-quote" | "text-after-quote";
  /** 1-based line: where the quote opened (unterminated) or where the stray text is. */
  line: number;
}

export interface CsvText {
  records: string[][];
  issue?: CsvIssue;
}

export function readCsv(text: string): CsvText {
  const records: string[][] = [];
  let issue: CsvIssue | undefined;
  let record: string[] = [];
  let field = "";
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  let atFieldStart = true;
  while (i < n) {
    const ch = text[i]!;
    if (atFieldStart && ch === '"') {
      const startLine = line;
      i++;
      for (;;) {
        if (i >= n) {
          issue ??= { kind: "unterminated-quote", line: startLine };
          break;
        }
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
        issue ??= { kind: "text-after-quote", line };
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
  return issue ? { records, issue } : { records };
}

/** One CSV field: quoted when it holds a comma, a quote or a line break; null and undefined give "". */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
