// Reading delimited text (LLP's tab-separated annotation files, numeric CSV for GRaSP).
// Quoted fields with embedded delimiters are supported; every error names file and line.

export interface DelimitedTable {
  header: string[] | null;
  rows: string[][];
  /** 1-based source line of each row, for error messages. */
  lines: number[];
}

export class DelimitedParseError extends Error {}

export function parseDelimited(
  text: string,
  opts: { delimiter: string; header: boolean; source?: string },
): DelimitedTable {
  const source = opts.source ?? '<input>';
  const rawLines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const rows: string[][] = [];
  const lines: number[] = [];
  let header: string[] | null = null;
  let width = -1;
  rawLines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    const fields = splitLine(raw, opts.delimiter, `${source}:${i + 1}`);
    if (width < 0) width = fields.length;
    else if (fields.length !== width) {
      throw new DelimitedParseError(`${source}:${i + 1}: expected ${width} fields, found ${fields.length}`);
    }
    if (opts.header && header === null) header = fields;
    else {
      rows.push(fields);
      lines.push(i + 1);
    }
  });
  return { header, rows, lines };
}

function splitLine(line: string, delimiter: string, where: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) throw new DelimitedParseError(`${where}: unterminated quoted field`);
  out.push(field);
  return out;
}
