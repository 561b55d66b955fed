// What a file holds, from its first bytes: shape, candidate record paths, first records, field types.
// Mirrors the producer's rules (README "Input files"): .jsonl/.ndjson are JSON Lines; a .json file is an
// array of records, an object of records (its first value is an object), or one record (any other object).

export const HEAD_BYTES = 64 * 1024;
const PARTIAL = Symbol("partial"); // set on a container the head of the file cut short
const ORDER = Symbol("order"); // an object's keys in file order (JavaScript puts integer-like keys first)

// A number as written: its kind (integer or float) is the text's, as the producer keeps it.
export class Num {
  constructor(raw) { this.raw = raw; }
  get kind() { return /[.eE]/.test(this.raw) ? "float" : "integer"; }
  toString() { return this.raw; }
}

class EndOfText extends Error {}
const LITERALS = ["true", "false", "null"];

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
    const ahead = text.slice(i, i + 512);
    // cut by the end of the head: a number's characters ("-75.", "1e-", "-") or the start of a literal
    // ("tr", "nul") up to the end are a value the rest of the file completes, not an error
    if (i + ahead.length >= n && (/^[-+.\deE]+$/.test(ahead) || LITERALS.some((w) => w.startsWith(ahead)))) throw new EndOfText();
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(ahead);
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
    if (isObject) out[ORDER] = [];
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
        if (isObject) {
          if (!(key in out)) out[ORDER].push(key);
          out[key] = item;
        } else {
          out.push(item);
        }
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
// [key, value] pairs in file order (the order the producer reads them in).
export const entriesOf = (object) => (object[ORDER] ?? Object.keys(object)).map((key) => [key, object[key]]);
export const isRecord = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Num);

// Paths (dotted) under which a document keeps its records: arrays of objects, objects of objects.
export function recordPaths(doc, prefix = "", depth = 0, out = []) {
  if (!isRecord(doc) || depth > 3) return out;
  for (const [key, v] of entriesOf(doc)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const first = Array.isArray(v) ? v[0] : isRecord(v) ? entriesOf(v)[0]?.[1] : undefined;
    if (isRecord(first)) out.push(path);
    if (isRecord(v)) recordPaths(v, path, depth + 1, out);
  }
  return out;
}

function at(doc, path) {
  return path.split(".").reduce((v, key) => (isRecord(v) ? v[key] : undefined), doc);
}

// The complete records of a container and their positions (the object's keys, the array's indexes): the
// part of a document id the producer takes from the file.
function recordsOf(container) {
  const entries = Array.isArray(container) ? container.map((v, i) => [String(i), v]) : entriesOf(container);
  const complete = entries.filter(([, v]) => !isPartial(v));
  return { records: complete.map(([, v]) => v), positions: complete.map(([k]) => k) };
}

// The shape of a file from its head: {shape, label, records, paths, problem, warning}.
export function detectShape(name, head, wholeFile, recordsPath = null) {
  const plain = name.replace(/\.gz$/, "");
  if (/\.(jsonl|ndjson)$/.test(plain)) return jsonLines(head, wholeFile);
  let parsed;
  try {
    const text = head.replace(/^\ufeff/, "");
    parsed = parseHead(wholeFile ? `${text}\n` : text); // a whole file's last number ends with the file
  } catch (e) {
    if (e instanceof EndOfText) return { shape: "empty", label: "empty", records: [], paths: [], problem: "the file is empty" };
    return { shape: "invalid", label: "not JSON", records: [], paths: [], problem: `not JSON: ${e.message}` };
  }
  const doc = parsed.value;
  const warning = parsed.rest ? "more JSON follows the first value: is this JSON Lines? Name it .jsonl" : null;
  if (recordsPath) {
    const inner = at(doc, recordsPath);
    if (inner === undefined) return { shape: "path", label: `records under ${recordsPath}`, records: [], paths: recordPaths(doc), problem: `the first ${HEAD_BYTES / 1024} KB have no ${recordsPath}`, warning };
    return { shape: "path", label: `records under ${recordsPath}`, ...recordsOf(inner), paths: recordPaths(doc), warning };
  }
  if (Array.isArray(doc)) return { shape: "array", label: "array of records", ...recordsOf(doc), paths: [], warning };
  if (!isRecord(doc)) return { shape: "scalar", label: "a single value", records: [], paths: [], problem: "a top-level value that is not an object or array holds no records" };
  const first = entriesOf(doc)[0];
  if (first && isRecord(first[1])) return { shape: "object", label: "object of records", ...recordsOf(doc), paths: [], warning };
  return { shape: "single", label: "a single object", records: [doc], positions: ["0"], paths: recordPaths(doc), warning };
}

function jsonLines(head, wholeFile) {
  const lines = head.split("\n");
  if (!wholeFile) lines.pop(); // the last line may be cut
  const records = [];
  const positions = []; // 1-based line numbers
  for (const [index, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      const { value, rest } = parseHead(`${line}\n`);
      if (isPartial(value) || rest) throw new SyntaxError("not one JSON value");
      records.push(value);
      positions.push(String(index + 1));
    } catch (e) {
      return { shape: "jsonl", label: "JSON Lines", records, positions, paths: [], warning: `line ${index + 1} is not JSON (${e.message}): it will be rejected` };
    }
  }
  return { shape: "jsonl", label: "JSON Lines", records, positions, paths: [] };
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
    if (isRecord(v)) for (const [k, inner] of entriesOf(v)) note(`${path}.${k}`, inner);
  };
  for (const record of records) {
    if (!isRecord(record)) continue;
    for (const [k, v] of entriesOf(record)) note(k, v);
  }
  return fields;
}

export function display(v) {
  if (v === undefined) return "";
  if (v instanceof Num) return v.raw;
  if (v !== null && typeof v === "object") return JSON.stringify(v, (k, x) => (x instanceof Num ? Number(x.raw) : x));
  return String(v);
}
