import { readCsv } from "../common/index.ts";
import { QoelabError } from "../errors.ts";

/**
 * RFC 4180 CSV: fields separated by commas, records by CRLF (LF alone is accepted too), fields
 * with commas, quotes or line breaks enclosed in double quotes, a quote inside doubled (`""`).
 * Returns the raw text of every field; a final line break does not start an empty record.
 * Malformed quoting throws ML_CSV_UNTERMINATED_QUOTE / ML_CSV_BAD_QUOTE (`readCsv` in src/common/).
 */
export function parseCsv(text: string, name = "<csv>"): string[][] {
  const { records, issue } = readCsv(text);
  if (issue?.kind === "unterminated-quote")
    throw new QoelabError(
      "ML_CSV_UNTERMINATED_QUOTE",
      `${name}: quoted field opened on line ${issue.line} never ends`,
      {
        file: name,
        line: issue.line,
      },
    );
  if (issue)
    throw new QoelabError(
      "ML_CSV_BAD_QUOTE",
      `${name}: line ${issue.line}: text after a closing quote (fields with quotes must be wholly quoted)`,
      { file: name, line: issue.line },
    );
  return records;
}
