// What a file holds, from its first bytes: shape, candidate record paths, first records, field types.
// Mirrors the producer's rules (README "Input files"): .jsonl/.ndjson are JSON Lines; a .json file is an
// array of records, an object of records (its first value is an object), or one record (any other object).

export const HEAD_BYTES = 64 * 1024;
const PARTIAL = Symbol("partial"); // set on a container the head of the file cut short

// A number as written: its kind (integer or float) is the text's, as the producer keeps it.
export class Num {
  constructor(raw) { this.raw = raw; }
  get kind() { return /[.eE]/.test(this.raw) ? "float" : "integer"; }
  toString() { return this.raw; }
}

class EndOfText extends Error {}

// Parse the head of a JSON text: containers cut by its end come back marked PARTIAL with the values
// that were complete; a value cut inside a scalar is left out. Throws SyntaxError with a byte offset.
export function parseHead(text) {
  let i = 0;
  const n = text.length;
  const fail = (what) => { throw new SyntaxError(`${what} at character ${i}`); };
  const ws = () => { while (i < n && " \t\r\n".includes(text[i])) i++; if (i >= n) throw new EndOfText(); };
  function string() {
    let j = i + 1;
    while (j < n && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
    if (j >= n) throw new EndOfText();
    const s = JSON.parse(text.slice(i, j + 1));
    i = j + 1;
    return s;
  }
  function scalar() {
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 512));
    if (!m) fail(`unexpected ${JSON.stringify(text[i])}`);
    if (i + m[0].length >= n) throw new EndOfText(); // a number may go on past the head
    i += m[0].length;
    if (m[0] === "true") return true;
    if (m[0] === "false") return false;
    if (m[0] === "null") return null;
    return new Num(m[0]);
  }
  function container(open) {
    const isObject = open === "{";
    const out = isObject ? {} : [];
    i++;
    try {
      ws();
      if (text[i] === (isObject ? "}" : "]")) { i++; return out; }
      for (;;) {
        let key;
        if (isObject) {
          ws();
          if (text[i] !== '"') fail("expected a key");
          key = string();
          ws();
          if (text[i] !== ":") fail("expected ':'");
          i++;
        }
        const item = value();
        if (isObject) out[key] = item; else out.push(item);
        if (item !== null && typeof item === "object" && item[PARTIAL]) { out[PARTIAL] = true; return out; }
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === (isObject ? "}" : "]")) { i++; return out; }
        fail(`expected ',' or '${isObject ? "}" : "]"}'`);
      }
    } catch (e) {
      if (!(e instanceof EndOfText)) throw e;
      out[PARTIAL] = true;
      return out;
    }
  }
  function value() {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") return container(c);
    if (c === '"') return string();
    return scalar();
  }
  const first = value();
  let rest = "";
  if (!(first !== null && typeof first === "object" && first[PARTIAL])) rest = text.slice(i).trim();
  return { value: first, rest };
}

export const isPartial = (v) => v !== null && typeof v === "object" && Boolean(v[PARTIAL]);
const isRecord = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Num);

// Paths (dotted) under which a document keeps its records: arrays of objects, objects of objects.
export function recordPaths(doc, prefix = "", depth = 0, out = []) {
  if (!isRecord(doc) || depth > 3) return out;
  for (const [key, v] of Object.entries(doc)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const first = Array.isArray(v) ? v[0] : isRecord(v) ? Object.values(v)[0] : undefined;
    if (isRecord(first)) out.push(path);
    if (isRecord(v)) recordPaths(v, path, depth + 1, out);
  }
  return out;
}

function at(doc, path) {
  return path.split(".").reduce((v, key) => (isRecord(v) ? v[key] : undefined), doc);
}

function recordsOf(container) {
  const values = Array.isArray(container) ? container : Object.values(container);
  const complete = isPartial(container) ? values.filter((v) => !isPartial(v)) : values;
  return complete.filter((v) => !isPartial(v));
}

// The shape of a file from its head: {shape, label, records, paths, problem, warning}.
export function detectShape(name, head, wholeFile, recordsPath = null) {
  const plain = name.replace(/\.gz$/, "");
  if (/\.(jsonl|ndjson)$/.test(plain)) return jsonLines(head, wholeFile);
  let parsed;
  try {
    parsed = parseHead(head.replace(/^\ufeff/, ""));
  } catch (e) {
    if (e instanceof EndOfText) return { shape: "empty", label: "empty", records: [], paths: [], problem: "the file is empty" };
    return { shape: "invalid", label: "not JSON", records: [], paths: [], problem: `not JSON: ${e.message}` };
  }
  const doc = parsed.value;
  const warning = parsed.rest ? "more JSON follows the first value: is this JSON Lines? Name it .jsonl" : null;
  if (recordsPath) {
    const inner = at(doc, recordsPath);
    if (inner === undefined) return { shape: "path", label: `records under ${recordsPath}`, records: [], paths: recordPaths(doc), problem: `the first ${HEAD_BYTES / 1024} KB have no ${recordsPath}`, warning };
    return { shape: "path", label: `records under ${recordsPath}`, records: recordsOf(inner), paths: recordPaths(doc), warning };
  }
  if (Array.isArray(doc)) return { shape: "array", label: "array of records", records: recordsOf(doc), paths: [], warning };
  if (!isRecord(doc)) return { shape: "scalar", label: "a single value", records: [], paths: [], problem: "a top-level value that is not an object or array holds no records" };
  const values = Object.values(doc);
  if (values.length && isRecord(values[0])) return { shape: "object", label: "object of records", records: recordsOf(doc), paths: [], warning };
  return { shape: "single", label: "a single object", records: [doc], paths: recordPaths(doc), warning };
}

function jsonLines(head, wholeFile) {
  const lines = head.split("\n");
  if (!wholeFile) lines.pop(); // the last line may be cut
  const records = [];
  for (const [index, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      const { value, rest } = parseHead(line);
      if (isPartial(value) || rest) throw new SyntaxError("not one JSON value");
      records.push(value);
    } catch (e) {
      return { shape: "jsonl", label: "JSON Lines", records, paths: [], warning: `line ${index + 1} is not JSON (${e.message}): it will be rejected` };
    }
  }
  return { shape: "jsonl", label: "JSON Lines", records, paths: [] };
}

export function kindOf(v) {
  if (v === null) return "null";
  if (v instanceof Num) return v.kind;
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "boolean") return "boolean";
  return "string";
}

// Fields of the records by dotted path (as OpenSearch flattens objects; arrays take their items' kinds):
// {path: {kinds: Set, examples: [strings]}}, in first-seen order.
export function fieldsOf(records) {
  const fields = new Map();
  const note = (path, v) => {
    if (Array.isArray(v)) { for (const item of v) note(path, item); return; }
    let f = fields.get(path);
    if (!f) { f = { kinds: new Set(), examples: [] }; fields.set(path, f); }
    f.kinds.add(kindOf(v));
    if (typeof v === "string" && f.examples.length < 5 && !f.examples.includes(v)) f.examples.push(v.slice(0, 200));
    if (isRecord(v)) for (const [k, inner] of Object.entries(v)) note(`${path}.${k}`, inner);
  };
  for (const record of records) {
    if (!isRecord(record)) continue;
    for (const [k, v] of Object.entries(record)) note(k, v);
  }
  return fields;
}

export function display(v) {
  if (v === undefined) return "";
  if (v instanceof Num) return v.raw;
  if (v !== null && typeof v === "object") return JSON.stringify(v, (k, x) => (x instanceof Num ? Number(x.raw) : x));
  return String(v);
}
