// What a file that is not JSON looks like, from its first bytes, and what to do instead: the page says so
// before sending and keeps Upload disabled (the producer would only reject the file).

const starts = (bytes, ...magic) => magic.every((b, i) => bytes[i] === b);
const ascii = (bytes, at, text) => [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));
const latin1 = (bytes) => new TextDecoder("latin1").decode(bytes); // to find ASCII names in a zip's head

const SAVE_AS_JSON = "the page takes JSON, JSON Lines and CSV/TSV tables: export the data as one of them (JSON Lines: one record per line) from the program that made it, and choose that file";

// Binary formats by their magic bytes: [test, what it looks like, what to do].
const BINARY = [
  [(b) => starts(b, 0x50, 0x4b, 0x03, 0x04) && /xl\//.test(latin1(b)), "an Excel workbook (.xlsx)", "in Excel or LibreOffice, save each sheet as \"CSV UTF-8\" (a file named .csv) and choose that file"],
  [(b) => starts(b, 0x50, 0x4b, 0x03, 0x04) && latin1(b).includes("application/vnd.oasis.opendocument.spreadsheet"), "a LibreOffice/OpenDocument spreadsheet (.ods)", "save each sheet as CSV, character set UTF-8 (a file named .csv), and choose that file"],
  [(b) => starts(b, 0x50, 0x4b, 0x03, 0x04) && /word\/|application\/vnd\.oasis\.opendocument\.text/.test(latin1(b)), "a word-processor document (.docx/.odt)", SAVE_AS_JSON],
  [(b) => starts(b, 0x50, 0x4b, 0x03, 0x04) || starts(b, 0x50, 0x4b, 0x05, 0x06), "a zip archive", "unpack it and choose the JSON files inside (a single file compressed with gzip, .json.gz, is read as it is)"],
  [(b) => starts(b, 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1), "an older Excel workbook (.xls) or another Office document", "open it in Excel or LibreOffice and save each sheet as CSV in UTF-8 (a file named .csv), then choose that file"],
  [(b) => starts(b, 0x1f, 0x8b), "a gzip-compressed file", "name it with .gz at the end (e.g. data.json.gz): the producer reads compressed JSON as it is"],
  [(b) => ascii(b, 0, "%PDF-"), "a PDF document", SAVE_AS_JSON],
  [(b) => starts(b, 0x89, 0x50, 0x4e, 0x47), "a PNG image", "an image holds no records: choose the JSON file"],
  [(b) => starts(b, 0xff, 0xd8, 0xff), "a JPEG image", "an image holds no records: choose the JSON file"],
  [(b) => ascii(b, 0, "GIF8"), "a GIF image", "an image holds no records: choose the JSON file"],
  [(b) => ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP"), "a WebP image", "an image holds no records: choose the JSON file"],
  [(b) => ascii(b, 0, "II*\0") || ascii(b, 0, "MM\0*"), "a TIFF image", "an image holds no records: choose the JSON file"],
  [(b) => ascii(b, 0, "PAR1"), "a Parquet file", "convert it to JSON Lines (for example with pandas or DuckDB), and choose that file"],
  [(b) => ascii(b, 0, "SQLite format 3\0"), "an SQLite database", "export the table as JSON (for example with the sqlite3 command's .mode json), and choose that file"],
  [(b) => starts(b, 0x28, 0xb5, 0x2f, 0xfd) || starts(b, 0x42, 0x5a, 0x68) || starts(b, 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00) || ascii(b, 0, "7z\xbc\xaf"), "a compressed file (zstd, bzip2, xz or 7-Zip)", "unpack it, or compress the JSON file with gzip (.json.gz) instead"],
];

// UTF-16 and UTF-32: a byte order mark, or zero bytes in every other place of ASCII text.
function wideEncoding(b) {
  if (starts(b, 0xff, 0xfe, 0, 0) || starts(b, 0, 0, 0xfe, 0xff)) return "UTF-32";
  if (starts(b, 0xff, 0xfe) || starts(b, 0xfe, 0xff)) return "UTF-16";
  const sample = b.subarray(0, 256);
  if (sample.length < 8) return null;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < sample.length; i++) if (sample[i] === 0) (i % 2 ? oddZeros++ : evenZeros++);
  const half = sample.length / 2;
  return evenZeros > half * 0.6 || oddZeros > half * 0.6 ? "UTF-16" : null;
}

// The head's bytes are UTF-8, except that its last character may be cut by the end of the head.
function isUtf8(b, whole) {
  let end = b.length;
  if (!whole) {
    let back = 0;
    while (back < 3 && end - back - 1 >= 0 && (b[end - back - 1] & 0xc0) === 0x80) back++;
    if (end - back - 1 >= 0 && b[end - back - 1] >= 0xc0) end -= back + 1;
  }
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

// {what, todo, encoding} when the bytes are not JSON text at all (a binary format; text in another
// encoding than UTF-8, which the producer reads only: `encoding`), else null.
export function sniffBytes(bytes, whole) {
  for (const [test, what, todo] of BINARY) if (test(bytes)) return { what, todo };
  const wide = wideEncoding(bytes);
  if (wide) return { what: `text in ${wide}, not UTF-8`, encoding: true, todo: `save it as UTF-8 (in a text editor: "Save as", encoding UTF-8; Excel calls it "CSV UTF-8"), then choose it again` };
  if (bytes.includes(0)) return { what: "a binary file, not text", todo: SAVE_AS_JSON };
  if (!isUtf8(bytes, whole)) return { what: "text in another encoding than UTF-8 (e.g. Windows-1252 or Latin-1)", encoding: true, todo: `save it as UTF-8 (in a text editor: "Save as", encoding UTF-8), then choose it again` };
  return null;
}

// Split a line at `delimiter` outside double quotes.
function cells(line, delimiter) {
  const out = [""];
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === delimiter && !quoted) out.push("");
    else out[out.length - 1] += c;
  }
  return out.map((cell) => cell.trim());
}

// {what, todo} for text that is not JSON: a table (CSV, TSV, semicolon- or bar-separated), XML or HTML,
// or null when it looks like nothing we know (the parser's own message is shown then).
export function sniffText(text) {
  const body = text.replace(/^\ufeff/, "").trimStart();
  if (/^<\?xml|^<(!doctype )?html|^<[a-zA-Z][\w:-]*[\s>]/i.test(body)) {
    const what = /^<(!doctype )?html/i.test(body) ? "an HTML page" : "XML";
    return { what, todo: "the page takes JSON only: export the data as JSON from the program that made it (or convert the XML to JSON), and choose that file" };
  }
  if (/^[[{]/.test(body)) return null; // JSON with a mistake further on: the parser's message says where
  const lines = body.split(/\r?\n/).slice(0, 6).filter((line) => line.trim());
  if (lines.length) {
    for (const [delimiter, name] of [["\t", "a tab-separated table (TSV)"], [",", "a comma-separated table (CSV)"], [";", "a semicolon-separated table (CSV)"], ["|", "a bar-separated table"]]) {
      const widths = lines.map((line) => cells(line, delimiter).length);
      if (widths[0] > 1 && widths.every((w, i) => w === widths[0] || i === widths.length - 1)) {
        const columns = cells(lines[0], delimiter).slice(0, 6).join(", ");
        return { what: `${name} with columns ${columns}${widths[0] > 6 ? ", …" : ""}`, todo: `the page reads tables from files named .csv or .tsv: rename it ${delimiter === "\t" ? ".tsv" : ".csv"} (each row becomes one record, the first row names the fields) and choose it again` };
      }
    }
  }
  return null;
}
