// What a CSV or TSV file's head holds, read as the producer reads the file (README "CSV and TSV"): the
// first row that is not blank names the fields, every later row is a record whose position is the line
// it starts on, quoting is RFC 4180, an empty value is the field's absence, and a column is integer,
// decimal, boolean or text as every one of its values allows (here: every value in the head; the
// producer decides from the whole file, so a later row can still make a column text).

import { HEAD_BYTES, Num } from "./shape.js";

const DELIMITERS = [",", ";", "\t", "|"];
const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const DECIMAL = /^-?(0|[1-9][0-9]*)\.[0-9]+$/;
const LONG_DIGITS = 18; // at most 18 digits always fits a 64-bit integer (an OpenSearch long)

export const isTable = (name) => /\.(csv|tsv)$/i.test(name.replace(/\.gz$/i, ""));

// Rows of `text` as [line, cells], each row complete: a row the end of the head may have cut (the last
// one, when the head is not the whole file, or one inside an open quote) is left out.
function rows(text, delimiter, wholeFile) {
  const out = [];
  let cells = [""];
  let line = 1;
  let start = 1;
  let quoted = false;
  let i = 0;
  const end = () => { if (cells.length > 1 || cells[0] !== "") out.push([start, cells]); cells = [""]; };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cells[cells.length - 1] += '"'; i++; }
      else if (c === '"') quoted = false;
      else { if (c === "\n") line++; cells[cells.length - 1] += c; }
    } else if (c === '"' && cells[cells.length - 1] === "") quoted = true;
    else if (c === delimiter) cells.push("");
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      end();
      line++;
      start = line;
    } else cells[cells.length - 1] += c;
  }
  if (wholeFile && !quoted) end();
  return out;
}

// The delimiter: TAB for .tsv; else the one of , ; TAB | that splits the header into most columns and
// every complete row of the head into as many.
function delimiterOf(name, text, wholeFile) {
  if (/\.tsv$/i.test(name.replace(/\.gz$/i, ""))) return "\t";
  let best = ",";
  let bestWidth = 1;
  for (const delimiter of DELIMITERS) {
    const found = rows(text, delimiter, wholeFile).slice(0, 50);
    if (!found.length) continue;
    const width = found[0][1].length;
    if (width > bestWidth && found.every(([, cells]) => cells.length === width)) { best = delimiter; bestWidth = width; }
  }
  return best;
}

// Unique, non-empty field names, as the producer makes them: an empty name becomes column_<n>, a
// repeated one <name>_<k> (the first k from 2 that no column has).
function uniqueNames(header) {
  const taken = new Set(header.filter(Boolean));
  const seen = new Set();
  return header.map((name, index) => {
    if (name && !seen.has(name)) { seen.add(name); return name; }
    const base = name || `column_${index + 1}`;
    let given = base;
    for (let k = 2; taken.has(given); k++) given = `${base}_${k}`;
    taken.add(given);
    return given;
  });
}

function columnType(values) {
  const present = values.filter((v) => v !== "");
  if (present.every((v) => INTEGER.test(v) && v.replace("-", "").length <= LONG_DIGITS)) return "integer";
  if (present.every((v) => INTEGER.test(v) || DECIMAL.test(v))) return "decimal";
  if (present.every((v) => /^(true|false)$/i.test(v))) return "boolean";
  return "text";
}

const CONVERT = {
  integer: (v) => new Num(v),
  decimal: (v) => new Num(v.includes(".") ? v : `${v}.0`), // sent as a double: 1 as 1.0
  boolean: (v) => v.toLowerCase() === "true",
  text: (v) => v,
};

// The shape of a CSV/TSV file from its head: {shape, label, records, positions, paths, problem, warning}.
export function tableShape(name, head, wholeFile) {
  const text = head.replace(/^\ufeff/, "");
  const delimiter = delimiterOf(name, text, wholeFile);
  const label = delimiter === "\t" ? "TSV table" : `CSV table (${delimiter === "," ? "commas" : delimiter === ";" ? "semicolons" : "bars"})`;
  const found = rows(text, delimiter, wholeFile);
  if (!found.length) {
    const problem = wholeFile ? "the file is empty" : `no complete row in the first ${HEAD_BYTES / 1024} KB`;
    return { shape: "table", label, records: [], positions: [], paths: [], problem };
  }
  const names = uniqueNames(found[0][1]);
  const body = found.slice(1);
  const ragged = body.filter(([, cells]) => cells.length !== names.length);
  const complete = body.filter(([, cells]) => cells.length === names.length);
  const types = names.map((_, column) => columnType(complete.map(([, cells]) => cells[column])));
  const records = complete.map(([, cells]) => {
    const record = {};
    cells.forEach((value, column) => { if (value !== "") record[names[column]] = CONVERT[types[column]](value); });
    return record;
  });
  const positions = complete.map(([line]) => String(line));
  const warning = ragged.length
    ? `line ${ragged[0][0]} has ${ragged[0][1].length} fields, the header has ${names.length}: ${ragged.length === 1 ? "that row" : `it and ${ragged.length - 1} more of the first rows`} will be rejected`
    : null;
  return { shape: "table", label, records, positions, paths: [], warning };
}
