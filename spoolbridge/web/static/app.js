// The page: choose a dataset (checked as you type by the server's own rules), drop files, see what each
// holds before sending, upload (resumable), then follow each file through the pipeline.
import { HEAD_BYTES, detectShape, display, entriesOf, fieldsOf, isPartial, isRecord, kindOf } from "./shape.js";
import { Eta, FIGURES, STATES, bytes, count } from "./figures.js";
import { openSearch } from "./search.js";
import { sniffBytes, sniffText } from "./sniff.js";
import { isTable, tableShape } from "./table.js";
import { UploadCancelled, UploadRefused, cancelUpload, upload } from "./upload.js";

const $ = (selector, root = document) => root.querySelector(selector);
const CSRF = { "X-Spoolbridge-Request": "1" };
const PREVIEW_RECORDS = 20;
const PREVIEW_COLUMNS = 30;

const state = { dataset: "", datasetOk: false, info: null, idField: "", files: [], unfinished: [] };

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  return response.json();
}

// ---- dataset: as-you-type check, existing dataset's count and mapping -------------------------------

let checkSeq = 0;
async function checkDataset() {
  const name = $("#dataset").value.trim();
  const seq = ++checkSeq;
  const out = $("#dataset-check");
  state.dataset = name;
  state.datasetOk = false;
  state.info = null;
  if (!name) { out.textContent = "choose a dataset: a new name or an existing one"; out.className = "check"; refreshAll(); return; }
  const verdict = await getJson(`api/dataset-name?name=${encodeURIComponent(name)}`);
  if (seq !== checkSeq) return;
  if (verdict.problem) {
    out.textContent = `${verdict.problem}${verdict.suggestion ? ` — try "${verdict.suggestion}"` : ""}`;
    out.className = "check bad";
    refreshAll();
    return;
  }
  state.datasetOk = true;
  out.textContent = "checking…";
  const info = await getJson(`api/datasets/${encodeURIComponent(name)}`);
  if (seq !== checkSeq) return;
  state.info = info;
  const read = [info.id_field && `ids from the field ${info.id_field}`, info.records_path && `records under ${info.records_path}`].filter(Boolean);
  const how = read.length ? `; ${read.join(", ")} (the dataset's settings)` : "";
  if (info.problem) out.textContent = `valid name; ${info.problem}`;
  else if (info.exists) out.textContent = `existing dataset: ${info.documents} documents in index ${info.index}${how}`;
  else out.textContent = `new dataset (index ${info.index})${how}`;
  out.className = info.problem ? "check" : "check ok";
  refreshAll();
}

async function loadDatasetNames() {
  const { datasets } = await getJson("api/datasets");
  const list = $("#dataset-names");
  list.replaceChildren(...datasets.map((name) => Object.assign(document.createElement("option"), { value: name })));
}

// ---- files: shape, preview, conflicts --------------------------------------------------------------

async function addFiles(fileList) {
  for (const file of fileList) {
    const card = $("#file-card").content.firstElementChild.cloneNode(true);
    const entry = { file, card, shape: null, path: null, head: "", uploading: false, done: false };
    state.files.push(entry);
    $(".name", card).textContent = file.name;
    $(".size", card).textContent = bytes(file.size);
    $(".remove", card).addEventListener("click", () => { card.remove(); state.files = state.files.filter((f) => f !== entry); refreshLimits(); showIdChoice(); });
    $(".start", card).addEventListener("click", () => start(entry));
    $(".path", card).addEventListener("change", (e) => { entry.path = e.target.value || null; analyse(entry); });
    $("#file-list").append(card);
    // only the head: the browser never reads the whole file
    const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
    const whole = file.size <= HEAD_BYTES;
    if (/\.gz$/.test(file.name)) {
      entry.head = null;
      const gzip = head[0] === 0x1f && head[1] === 0x8b;
      entry.notJson = gzip ? null : sniffBytes(head, whole) ?? { what: "a file that is not compressed, though its name ends in .gz", todo: "remove .gz from its name and choose it again" };
    } else {
      entry.notJson = sniffBytes(head, whole);
      entry.head = new TextDecoder().decode(head); // a character cut by the end of the head becomes U+FFFD
    }
    analyse(entry);
    refreshLimits(); // the files below this one add their fields to its own
    showIdChoice();
  }
}

function refreshLimits() {
  for (const entry of state.files) if (entry.shape) showLimits(entry);
}

function refreshAll() {
  showIdChoice();
  for (const entry of state.files) analyse(entry);
}

// ---- id field: a new dataset may take its document ids from a field of its records ------------------

// Top-level fields that every previewed record has, as a non-empty string or an integer, each value
// different: the fields that could be the document ids.
function idCandidates() {
  const records = state.files.flatMap((f) => (f.shape?.records || []).slice(0, PREVIEW_RECORDS)).filter((r) => isRecord(r) && !isPartial(r));
  if (!records.length) return [];
  return entriesOf(records[0]).map(([name]) => name).filter((name) => {
    const seen = new Set();
    for (const record of records) {
      const value = record[name];
      const kind = kindOf(value);
      if (!(kind === "integer" || (kind === "string" && value !== ""))) return false;
      if (value === undefined || seen.has(display(value))) return false;
      seen.add(display(value));
    }
    return true;
  });
}

// The choice is offered for a new dataset only (ids cannot change once documents have them), and the
// first upload makes it (the server keeps it for every later file of the dataset, uploaded or dropped).
function showIdChoice() {
  const box = $("#id-field-box");
  const info = state.info;
  const candidates = state.datasetOk && info && !info.problem && !info.exists && !info.id_field ? idCandidates() : [];
  if (!candidates.includes(state.idField)) state.idField = "";
  box.hidden = candidates.length === 0;
  const select = $("#id-field");
  select.replaceChildren(
    Object.assign(document.createElement("option"), { value: "", textContent: "file and position (the default)" }),
    ...candidates.map((name) => Object.assign(document.createElement("option"), { value: name, textContent: `the field ${name}`, selected: name === state.idField })),
  );
}

function analyse(entry) {
  const { card, file } = entry;
  const show = (selector, text) => { const el = $(selector, card); el.hidden = !text; el.textContent = text || ""; };
  const table = isTable(file.name);
  const looks = entry.notJson ?? (entry.head === null || table ? null : sniffText(entry.head));
  if (looks) {
    // not JSON at all: what it looks like and what to do; the producer would only reject it
    entry.shape = { shape: "not-json", label: "not JSON", records: [], paths: [] };
    const todo = `${looks.todo[0].toUpperCase()}${looks.todo.slice(1)}.`;
    show(".problem", looks.encoding ? `This looks like ${looks.what}: the page and the producer read UTF-8 only. ${todo}` : `This looks like ${looks.what}, not JSON. ${todo}`);
    show(".warning", "");
  } else if (entry.head === null) {
    entry.shape = { label: "gzip", records: [], paths: [] };
    show(".problem", "");
    show(".warning", "compressed: no preview (the producer reads it as it is)");
  } else if (table) {
    entry.shape = tableShape(file.name, entry.head, file.size <= HEAD_BYTES);
    show(".problem", entry.shape.problem);
    show(".warning", entry.shape.warning);
  } else {
    const configured = state.info?.records_path || null;
    const shape = detectShape(file.name, entry.head, file.size <= HEAD_BYTES, entry.path || configured);
    // JSON Lines whose first line is not JSON: nothing of the file is
    entry.shape = shape.shape === "jsonl" && !shape.records.length && shape.warning ? { ...shape, problem: `not JSON Lines: ${shape.warning}` } : shape;
    show(".problem", entry.shape.problem);
    show(".warning", entry.shape.warning);
  }
  entry.blocked = Boolean(looks);
  $(".shape", card).textContent = entry.shape.label;
  showPaths(entry);
  $(".preview-box", card).hidden = entry.blocked; // nothing to preview: the problem says why
  renderPreview($(".preview", card), entry.shape, file.name);
  showLimits(entry);
  showResumable(entry);
  checkConflicts(entry);
  checkPrevious(entry);
  $(".start", card).disabled = !state.datasetOk || entry.uploading || entry.done || entry.blocked;
  $("#start-all").disabled = !state.datasetOk || !state.files.some(ready);
}

const ready = (entry) => !entry.uploading && !entry.done && !entry.blocked;
const finished = (entry) => entry.done && entry.card.dataset.verdict !== undefined; // its result is in
function showClearDone() { $("#clear-done").hidden = !state.files.some(finished); }
const DATE = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

// The fields the previews of `entries` add to an index whose mapping is `mapped`, counted as the index's
// field limit counts them: an object is one field, a text field two (itself and its .keyword), a date or
// a number one; a field seen only as null maps to nothing yet.
function addedFields(entries, mapped) {
  const added = new Map();
  for (const entry of entries) {
    for (const [path, f] of fieldsOf(entry.shape?.records || [])) {
      const kinds = [...f.kinds].filter((k) => k !== "null");
      if (path in mapped || added.has(path) || !kinds.length) continue;
      added.set(path, kinds[0] === "string" && !(f.examples.length && f.examples.every((e) => DATE.test(e))) ? 2 : 1);
    }
  }
  return [...added.values()].reduce((a, b) => a + b, 0);
}

// Warnings before sending, each with a way out: more fields than the index allows (with the dataset's
// own and the files above this one: they go into the same index), records larger than a message may be,
// and a single object that may hold its records under a key.
function showLimits(entry) {
  const list = $(".limits", entry.card);
  const info = state.info;
  const items = [];
  const shape = entry.shape || {};
  if (info && state.datasetOk && !info.problem && shape.records?.length) {
    const others = state.files.slice(0, state.files.indexOf(entry));
    const existing = info.field_count ?? 0;
    const mine = addedFields([entry], info.fields || {});
    const added = addedFields([...others, entry], info.fields || {});
    if (existing + added > info.field_limit) {
      const together = added > mine ? ` (with the files above it, ${count(added)})` : "";
      const has = info.exists ? `has ${count(existing)} of the ${count(info.field_limit)} fields its index allows` : `will allow ${count(info.field_limit)} fields in its index`;
      const out = existing || added > mine ? "put this file in a dataset of its own, or " : "";
      items.push(`Too many fields: the dataset ${state.dataset} ${has}, and the first 64 KB of this file add ${count(mine)}${together} (a text field counts twice: itself and its .keyword). Records that bring fields past the limit are not indexed (they are dead-lettered). To avoid that, ${out}ask an administrator to raise index.mapping.total_fields.limit in the dataset's index body before uploading.`);
    }
  }
  const limit = info?.max_record_bytes;
  if (limit && !entry.blocked) {
    const encoder = new TextEncoder();
    const sizes = shape.shape === "single" ? [entry.file.size] : (shape.records || []).map((r) => encoder.encode(display(r)).length);
    const cut = !sizes.length && entry.head && entry.file.size > HEAD_BYTES ? entry.head.length : 0; // the first record is at least this big
    const large = sizes.filter((size) => size > limit);
    const fix = "ask an administrator to raise producer.max_message_bytes and the topic's max.message.bytes";
    if (shape.shape === "single" && large.length) items.push(`Too large: this file is one record of ${bytes(entry.file.size)}, and a record may be at most ${bytes(limit)}: it would be rejected. If it holds its records under a key, choose that key below; else ${fix}.`);
    else if (large.length) items.push(`Too large: ${count(large.length)} of the first ${count(sizes.length)} records are larger than the ${bytes(limit)} a record may be (the largest is ${bytes(Math.max(...large))}); they would be rejected, the others indexed. Make those records smaller, or ${fix}.`);
    else if (cut > limit) items.push(`Too large: the first record is larger than the first ${bytes(cut)} of the file, and a record may be at most ${bytes(limit)}: such records would be rejected. Make them smaller, or ${fix}.`);
  }
  if (shape.shape === "single" && isRecord(shape.records?.[0])) {
    const keys = entriesOf(shape.records[0]).map(([key]) => key);
    const listed = keys.slice(0, 8).join(", ") + (keys.length > 8 ? ", …" : "");
    const then = pathChoosable() ? "; uploading then reads them so" : " (reading them so needs the dataset's records_path setting)";
    const choose = shape.paths?.length ? `If its records are under one of its keys, choose it under "Records under" to preview them${then}.` : `Its top-level keys (${listed}) hold no list of records.`;
    items.push(`One document: this file is a single object, so it becomes one document. ${choose}`);
  }
  list.replaceChildren(...items.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  list.hidden = items.length === 0;
}

function showPaths(entry) {
  const box = $(".paths", entry.card);
  const paths = entry.shape.paths || [];
  box.hidden = paths.length === 0 && !entry.path;
  if (box.hidden) return;
  const select = $(".path", box);
  const options = ["", ...paths].map((p) => Object.assign(document.createElement("option"), { value: p, textContent: p || "(the whole object is one record)", selected: p === (entry.path || "") }));
  select.replaceChildren(...options);
  $(".hint", box).textContent = !entry.path ? "" : pathChoosable()
    ? `uploading makes ${entry.path} where every file of the new dataset ${state.dataset || "<name>"} keeps its records (records_path)`
    : `the producer reads records under ${entry.path} only when the dataset's settings say so: [datasets.${state.dataset || "<name>"}] records_path = "${entry.path}"`;
}

// A new dataset's first upload may choose where its records are (the server keeps it, as the id field).
const pathChoosable = () => Boolean(state.datasetOk && state.info && !state.info.problem && !state.info.exists && !state.info.records_path);

// The first records as a table: the document id each will get (the producer's rule: the id field when the
// dataset has one, else <dataset>/<file>:<position>), then each field with the kinds of value seen.
function renderPreview(box, shape, fileName) {
  const records = shape.records;
  const fields = fieldsOf(records.slice(0, PREVIEW_RECORDS));
  const columns = [...fields.keys()].filter((path) => !fields.get(path).kinds.has("object")).slice(0, PREVIEW_COLUMNS);
  if (!records.length) { box.textContent = "no complete record in the first 64 KB"; return; }
  const idField = state.info?.id_field || state.idField;
  const idOf = (record, i) => (idField ? display(record?.[idField]) : `${state.dataset || "<dataset>"}/${fileName}:${shape.positions?.[i] ?? i}`);
  const table = document.createElement("table");
  const headRow = table.createTHead().insertRow();
  const idHead = Object.assign(document.createElement("th"), { className: "doc-id", textContent: "document id" });
  idHead.append(Object.assign(document.createElement("span"), { className: "type", textContent: idField ? `field ${idField}` : "file:position" }));
  headRow.append(idHead);
  for (const path of columns) {
    const th = document.createElement("th");
    th.textContent = path;
    const type = document.createElement("span");
    type.className = "type";
    type.textContent = [...fields.get(path).kinds].join(" | ");
    th.append(type);
    headRow.append(th);
  }
  const body = table.createTBody();
  for (const [i, record] of records.slice(0, PREVIEW_RECORDS).entries()) {
    const row = body.insertRow();
    row.insertCell().textContent = idOf(record, i);
    for (const path of columns) {
      const value = path.split(".").reduce((v, k) => (v && typeof v === "object" && !Array.isArray(v) ? v[k] : undefined), record);
      const cell = row.insertCell();
      cell.textContent = display(value);
      cell.title = cell.textContent;
    }
  }
  box.replaceChildren(table);
}

async function checkConflicts(entry) {
  const list = $(".conflicts", entry.card);
  if (!state.datasetOk || !state.info?.exists || !entry.shape.records.length) { list.hidden = true; return; }
  const fields = {};
  for (const [path, f] of fieldsOf(entry.shape.records)) fields[path] = { kinds: [...f.kinds], examples: f.examples };
  const response = await fetch(`api/datasets/${encodeURIComponent(state.dataset)}/conflicts`, {
    method: "POST",
    headers: { ...CSRF, "Content-Type": "application/json" },
    body: JSON.stringify({ fields }),
  });
  const { conflicts = [] } = await response.json();
  list.replaceChildren(...conflicts.map((c) => Object.assign(document.createElement("li"), { textContent: `Warning: ${c.reason}; those documents would be dead-lettered` })));
  list.hidden = conflicts.length === 0;
}

// A file of the same name uploaded (or dropped) before: the new one is a new version that replaces it.
async function checkPrevious(entry) {
  const note = $(".previous", entry.card);
  const seq = (entry.previousSeq = (entry.previousSeq || 0) + 1); // only the latest answer counts
  if (entry.uploading || entry.done) return;
  note.hidden = true;
  if (!state.datasetOk) return;
  const source = `${state.dataset}/${entry.file.name}`;
  const [response, removal] = await Promise.all([
    fetch(`api/reports/report?source=${encodeURIComponent(source)}`, { cache: "no-store" }),
    getJson(`api/removals?source=${encodeURIComponent(source)}`).catch(() => ({})),
  ]);
  if (seq !== entry.previousSeq || !response.ok) return;
  const report = await response.json();
  const before = removal.state || report.what ? null : await previousResult(source, report.records);
  if (seq !== entry.previousSeq) return;
  note.textContent = removal.state === "removed"
    ? `${source} was sent before and its documents were removed (${count(removal.removed)} deleted); this upload adds it again`
    : removal.state === "removing"
    ? `${source} was sent before and its documents are being removed; this upload adds it again once that is done`
    : report.what
    ? `${source} was sent before and failed (${report.what}); this upload replaces it`
    : `${source} was sent before (${before}); this upload replaces that version: its documents are overwritten, and those the new file no longer has are deleted`;
  note.hidden = false;
}

// What became of the version sent before, in the words of its card (the ledger's result, from the
// file's progress stream): not only how many records it had, since they may not be searchable.
function previousResult(source, records) {
  return new Promise((resolve) => {
    const events = new EventSource(`api/progress?source=${encodeURIComponent(source)}`);
    const done = (text) => { events.close(); clearTimeout(timer); resolve(text); };
    const timer = setTimeout(() => done(`${count(records)} records sent; what became of them is unknown just now`), 5000);
    events.onmessage = (e) => {
      const n = JSON.parse(e.data);
      done(n.result ? `${n.result.label}: ${n.result.sentence.replace(/\.$/, "")}` : `${count(records)} records sent, still being indexed`);
    };
  });
}

// ---- unfinished uploads: the server's own list, so a reload or another tab loses nothing ----------------

const unfinishedOf = (entry) => state.unfinished.find((u) => u.dataset === state.dataset && u.file_name === entry.file.name && u.length === entry.file.size);

function showResumable(entry) {
  const note = $(".resumable", entry.card);
  const known = entry.uploading || entry.done ? null : unfinishedOf(entry);
  note.hidden = !known;
  note.textContent = known ? `An unfinished upload of this file is on the server (${bytes(known.offset)} of ${bytes(known.length)}): Upload resumes it from there.` : "";
}

async function loadUnfinished(attempt = 0) {
  const answer = await getJson("api/uploads").catch(() => null);
  if (!answer) { // not answered: asked again shortly (an unanswered list is not an empty one)
    if (attempt < 10) setTimeout(() => loadUnfinished(attempt + 1), 2000);
    return;
  }
  // the uploads this page is sending are on its cards already
  const mine = new Set(state.files.filter((f) => f.uploading && !f.done).map((f) => `${f.dataset}/${f.file.name}`));
  state.unfinished = (answer.uploads || []).filter((u) => !mine.has(`${u.dataset}/${u.file_name}`));
  const box = $("#unfinished");
  box.hidden = !state.unfinished.length;
  $("ul", box).replaceChildren(...state.unfinished.map((u) => {
    const li = document.createElement("li");
    li.append(`${u.dataset}/${u.file_name}: ${bytes(u.offset)} of ${bytes(u.length)} uploaded `);
    const cancel = Object.assign(document.createElement("button"), { type: "button", textContent: "Cancel", className: "cancel-unfinished" });
    cancel.setAttribute("aria-label", `cancel the upload of ${u.dataset}/${u.file_name}`);
    cancel.addEventListener("click", async () => { cancel.disabled = true; await cancelUpload(u.location); loadUnfinished(); });
    li.append(cancel);
    return li;
  }));
  for (const entry of state.files) showResumable(entry);
}

// ---- the datasets overview: the server's ledger, never the browser's memory -----------------------

async function loadOverview() {
  const box = $("#overview");
  const answer = await getJson("api/overview").catch((e) => ({ datasets: [], problem: `the server did not answer (${e.message})` }));
  const problem = $(".overview-problem", box);
  problem.hidden = !answer.problem;
  problem.textContent = answer.problem ? `Unknown just now: ${answer.problem}` : "";
  const table = $("table", box);
  table.hidden = Boolean(answer.problem) || !answer.datasets.length;
  $("tbody", table).replaceChildren(...answer.datasets.map((d) => {
    const row = document.createElement("tr");
    row.dataset.dataset = d.dataset;
    const files = d.removed ? `${count(d.files)} (${count(d.removed)} removed)` : count(d.files);
    const when = d.last_settled ? new Date(d.last_settled).toLocaleString() : "—";
    for (const text of [d.dataset, d.documents === null ? "unknown" : count(d.documents), files, count(d.versions), when, count(d.dead_letters), count(d.rejected), d.balances ? "yes" : "not yet"]) {
      row.insertCell().textContent = text;
    }
    return row;
  }));
}

// ---- upload and progress ----------------------------------------------------------------------------

async function start(entry) {
  const { card, file } = entry;
  entry.uploading = true;
  entry.dataset = state.dataset;
  entry.abort = new AbortController();
  const known = unfinishedOf(entry)?.location ?? null;
  $(".start", card).disabled = true;
  $(".remove", card).disabled = true;
  $(".resumable", card).hidden = true;
  const cancel = $(".cancel", card);
  cancel.hidden = false;
  cancel.disabled = false;
  cancel.onclick = () => { cancel.disabled = true; entry.abort.abort(); };
  $(".progress", card).hidden = false;
  $(".preview-box", card).open = false; // the progress matters now; the preview stays one click away
  const bar = $(".bytes", card);
  bar.max = Math.max(file.size, 1);
  const status = $(".status", card);
  const dataset = state.dataset;
  try {
    $("#id-field").disabled = true; // the first upload makes the choice
    const source = await upload(file, dataset, ({ bytes: sent, status: text, resumes = 0, resumedAt }) => {
      bar.value = sent;
      if (resumedAt !== undefined) card.dataset.resumedAt = String(resumedAt); // after a reload
      card.dataset.resumes = String(resumes);
      const again = resumes ? ` (resumed after ${resumes} lost connection${resumes === 1 ? "" : "s"})` : "";
      status.textContent = `${text}: ${bytes(sent)} of ${bytes(file.size)}${again}`;
    }, state.idField || null, entry.path && pathChoosable() ? entry.path : null, { signal: entry.abort.signal, known });
    cancel.hidden = true;
    entry.done = true;
    status.textContent = `uploaded: ${bytes(file.size)}; now in the inbox as ${source}`;
    card.dataset.source = source;
    loadDatasetNames(); // a new dataset is one now
    follow(entry, source, dataset);
  } catch (e) {
    cancel.hidden = true;
    entry.uploading = false;
    if (e instanceof UploadCancelled) {
      status.textContent = {
        deleted: "cancelled: the server deleted what it had received of this file; Upload starts it again",
        complete: "too late to cancel: the last byte had arrived, so the file is in the dataset and is being read",
        kept: "cancelled here, but the server did not confirm that it deleted what it received: it is listed under Unfinished uploads, where it can be cancelled again",
      }[e.outcome];
      bar.value = 0;
      $(".start", card).disabled = !state.datasetOk;
      $(".remove", card).disabled = false;
      $("#id-field").disabled = false;
      loadUnfinished();
      return;
    }
    status.textContent = e instanceof UploadRefused ? `refused: ${e.message}` : `failed: ${e.message}`;
    status.classList.add("problem");
    $(".start", card).disabled = false;
    $(".remove", card).disabled = false;
    $("#id-field").disabled = false; // a refused choice is not kept: the dataset is asked again what it has
    checkDataset();
  }
}

// The pipeline's own numbers for the file, pushed by the server (server-sent events).
function follow(entry, source, dataset) {
  const { card, file } = entry;
  const table = $(".numbers", card);
  const status = $(".status", card);
  table.hidden = false;
  const head = entry.shape?.records?.length && entry.head ? entry.shape.records.length : 0;
  const estimate = head && file.size > HEAD_BYTES ? Math.round((head * file.size) / HEAD_BYTES) : head;
  const events = new EventSource(`api/progress?source=${encodeURIComponent(source)}`);
  const eta = new Eta();
  const legend = $(".legend", card);
  $("dl", legend).replaceChildren(...Object.entries(FIGURES).flatMap(([label, meaning]) => [
    Object.assign(document.createElement("dt"), { textContent: label }),
    Object.assign(document.createElement("dd"), { textContent: meaning }),
  ]));
  legend.hidden = false;
  let last = null;
  events.onmessage = (e) => {
    const n = JSON.parse(e.data);
    last = n;
    const total = n.produced != null ? n.produced - (n.superseded ?? 0) : estimate;
    const done = (n.indexed ?? 0) + (n.dead_lettered ?? 0);
    const rows = [
      ["state", n.settled ? n.state : STATES[n.state] ?? n.state],
      ...(n.removed != null ? [["removed from the dataset", `${count(n.removed)} document${n.removed === 1 ? "" : "s"} deleted`]] : []),
      ["bytes uploaded", `${bytes(file.size)} of ${bytes(file.size)}`],
      ["records read", count(n.read) ?? "—"],
      ["produced", count(n.produced) ?? "—"],
      ["indexed", count(n.indexed) ?? (n.unknown ? "unknown" : "—")],
      ["rejected", count(n.rejected)],
      ...(n.superseded ? [["same id as a later record", `${count(n.superseded)} (the last one wins)`]] : []),
      ["dead-lettered", count(n.dead_lettered) ?? (n.unknown ? "unknown" : "—")],
      ...(n.surplus ? [["more than this version makes", `${count(n.surplus)} (an earlier version's, still to be deleted)`]] : []),
      ...(n.expired ? [["expired from Kafka", `${count(n.expired)} (never indexed: drop the file again)`]] : []),
      ["docs/s", count(Math.round(n.docs_per_s ?? 0))],
      ["ETA", n.settled ? "done" : eta.update(total - done, n.docs_per_s)],
    ];
    table.tBodies[0].replaceChildren(...rows.map(([label, value]) => {
      const row = document.createElement("tr");
      row.dataset.figure = label;
      row.title = FIGURES[label] ?? "";
      row.append(Object.assign(document.createElement("td"), { textContent: label }), Object.assign(document.createElement("td"), { textContent: String(value) }));
      return row;
    }));
    // a reason why a figure is missing is shown while it holds, and goes when the figure is back
    const why = n.unknown ?? n.problem; // the ledger's "unknown, because …" once the file is read
    const removing = n.state === "removing" || n.state === "removed"; // asked on this card: said so until done
    const where = removing ? `${source}: being removed from the dataset (its documents are being deleted)` : `uploaded: now in the inbox as ${source}`;
    status.textContent = `${where}${why ? `; ${why}` : ""}`;
    status.classList.toggle("problem", Boolean(why));
  };
  events.addEventListener("end", () => {
    events.close();
    summarise(entry, source, dataset, last);
  });
}

function summarise(entry, source, dataset, n) {
  const { card } = entry;
  const status = $(".status", card);
  const q = `source=${encodeURIComponent(source)}`;
  if (n.state === "removed") {
    status.textContent = `${n.result.label}: ${n.result.sentence}`;
    status.classList.remove("problem");
  } else if (n.expired) { // settled, with the reason: the ledger counts them as lost, the fix is to send them again
    status.textContent = `${source}: ${n.expired} records expired from Kafka before they were indexed (the topic's retention removed them); ${n.indexed} indexed, ${n.dead_lettered} dead-lettered, ${n.rejected} rejected. Drop the file again under the same name to index them`;
    status.classList.add("problem");
  } else if (n.result) { // the ledger balances: the result in words, marked by its label (not only colour)
    status.textContent = `${n.result.label}: ${n.result.sentence}`;
    status.classList.toggle("problem", n.result.verdict !== "success");
  } else if (n.state === "failed") { // the producer's report, until the ledger balances
    status.textContent = `${source} failed: ${n.reason}${n.what_to_do ? `. ${n.what_to_do}` : ""}`;
    status.classList.add("problem");
  } else {
    status.classList.remove("problem"); // a missing figure's reason no longer holds: every figure is in
    status.textContent = `${source}: all ${count(n.read)} records arrived: ${count(n.indexed)} indexed, ${count(n.dead_lettered)} dead-lettered, ${count(n.rejected)} rejected`;
  }
  if (n.result) {
    if (card.dataset.verdict === undefined && $("#overview").open) loadOverview(); // its figures changed
    card.dataset.verdict = n.result.verdict;
    showClearDone();
  }
  const causes = $(".causes", card);
  causes.replaceChildren(...(n.result?.causes ?? []).map((c) => {
    const item = document.createElement("li");
    item.append(Object.assign(document.createElement("strong"), { textContent: `${count(c.count)} record${c.count === 1 ? "" : "s"}` }), `: ${c.what}. `);
    item.append(Object.assign(document.createElement("span"), { className: "to-do", textContent: `What to do: ${c.to_do}.` }));
    return item;
  }));
  causes.hidden = causes.children.length === 0;
  card.classList.add("settled");
  const links = $(".links", card);
  const link = (text, href, download) => Object.assign(document.createElement("a"), { textContent: text, href, ...(download ? { download: "" } : {}) });
  const items = [link("Search this dataset", `#search?dataset=${encodeURIComponent(dataset)}`)];
  if (n.has_rejected_file) items.push(link(`Rejected records (${count(n.rejected)})`, `api/reports/rejected?${q}`, true));
  if (n.dead_lettered) items.push(link(`Dead letters (${count(n.dead_lettered)})`, `api/reports/dead-letters?${q}`, true));
  items.push(link(n.state === "failed" ? "Error report" : "Manifest", `api/reports/report?${q}`, false));
  if (n.state !== "removed") items.push(removeButton(entry, source, dataset));
  links.replaceChildren(...items);
  links.hidden = false;
}

// "Remove from dataset": asked once, confirmed once (both buttons, so the keyboard alone does it); the
// producer deletes every document of the file's versions, and the card follows it to "removed".
function removeButton(entry, source, dataset) {
  const box = Object.assign(document.createElement("span"), { className: "removal" });
  const ask = Object.assign(document.createElement("button"), { type: "button", className: "remove-from-dataset", textContent: "Remove from dataset" });
  ask.addEventListener("click", () => {
    const confirm = Object.assign(document.createElement("button"), { type: "button", className: "confirm-removal", textContent: `Delete every document of ${source}` });
    const cancel = Object.assign(document.createElement("button"), { type: "button", className: "cancel-removal", textContent: "Keep it" });
    cancel.addEventListener("click", () => { box.replaceChildren(ask); ask.focus(); });
    confirm.addEventListener("click", () => removeFromDataset(entry, source, dataset, box));
    box.replaceChildren(confirm, " ", cancel);
    confirm.focus();
  });
  box.append(ask);
  return box;
}

async function removeFromDataset(entry, source, dataset, box) {
  const status = $(".status", entry.card);
  for (const button of box.querySelectorAll("button")) button.disabled = true;
  const response = await fetch("api/removals", {
    method: "POST",
    headers: { ...CSRF, "Content-Type": "application/json" },
    body: JSON.stringify({ source }),
  });
  const answer = await response.json();
  if (!response.ok) {
    status.textContent = `${source} cannot be removed: ${answer.problem}`;
    status.classList.add("problem");
    box.replaceChildren();
    return;
  }
  status.textContent = `${source}: removing it from the dataset (the producer deletes its documents between files)`;
  status.classList.remove("problem");
  entry.card.classList.remove("settled");
  delete entry.card.dataset.verdict;
  $(".links", entry.card).hidden = true;
  $(".links", entry.card).replaceChildren();
  $(".causes", entry.card).hidden = true;
  follow(entry, source, dataset);
}

// ---- wiring -------------------------------------------------------------------------------------------

function route() {
  const [view, query = ""] = location.hash.slice(1).split("?");
  const search = view === "search";
  $("#upload").hidden = search;
  $("#search").hidden = !search;
  $("#nav-upload").classList.toggle("current", !search);
  $("#nav-search").classList.toggle("current", search);
  if (search) openSearch(new URLSearchParams(query).get("dataset") ?? undefined);
}

let typing;
$("#dataset").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(checkDataset, 150); });
$("#files").addEventListener("change", (e) => { addFiles([...e.target.files]); e.target.value = ""; });
const drop = $("#drop");
// the drop zone is a button for the keyboard: Enter and Space open the file chooser, as a click does
drop.addEventListener("keydown", (e) => {
  if (e.key !== "Enter" && e.key !== " ") return;
  e.preventDefault(); // Space would scroll the page
  $("#files").click();
});
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles([...e.dataTransfer.files]); });
$("#id-field").addEventListener("change", (e) => { state.idField = e.target.value; refreshAll(); });
$("#start-all").addEventListener("click", () => { for (const entry of state.files) if (ready(entry)) start(entry); });
// finished cards (their result is in) can go; the server keeps every file's record (status, search)
$("#clear-done").addEventListener("click", () => {
  for (const entry of state.files.filter(finished)) entry.card.remove();
  state.files = state.files.filter((f) => !finished(f));
  showClearDone();
  refreshLimits();
  showIdChoice();
});
// leaving while bytes are still on their way: the browser asks first (the server keeps what arrived)
window.addEventListener("beforeunload", (e) => {
  if (!state.files.some((f) => f.uploading && !f.done)) return;
  e.preventDefault();
  e.returnValue = "";
});
window.addEventListener("hashchange", route);
route();
loadDatasetNames();
checkDataset();
loadUnfinished();
// asked when opened (it counts every dataset's files, as status does), and again on Refresh
$("#overview").addEventListener("toggle", (e) => { if (e.target.open) loadOverview(); });
$("#overview-refresh").addEventListener("click", loadOverview);
