// The page: choose a dataset (checked as you type by the server's own rules), drop files, see what each
// holds before sending, upload (resumable), then follow each file through the pipeline.
import { HEAD_BYTES, detectShape, display, entriesOf, fieldsOf, isPartial, isRecord, kindOf } from "./shape.js";
import { openSearch } from "./search.js";
import { UploadRefused, upload } from "./upload.js";

const $ = (selector, root = document) => root.querySelector(selector);
const CSRF = { "X-Spoolbridge-Request": "1" };
const PREVIEW_RECORDS = 20;
const PREVIEW_COLUMNS = 30;

const state = { dataset: "", datasetOk: false, info: null, idField: "", files: [] };

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return `${n.toFixed(u ? 1 : 0)} ${units[u]}`;
}

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
    $(".remove", card).addEventListener("click", () => { card.remove(); state.files = state.files.filter((f) => f !== entry); showIdChoice(); });
    $(".start", card).addEventListener("click", () => start(entry));
    $(".path", card).addEventListener("change", (e) => { entry.path = e.target.value || null; analyse(entry); });
    $("#file-list").append(card);
    // only the head: the browser never reads the whole file
    const head = file.slice(0, HEAD_BYTES);
    entry.head = /\.gz$/.test(file.name) ? null : await head.text();
    analyse(entry);
    showIdChoice();
  }
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
  if (entry.head === null) {
    entry.shape = { label: "gzip", records: [], paths: [] };
    show(".warning", "compressed: no preview (the producer reads it as it is)");
  } else {
    const configured = state.info?.records_path || null;
    entry.shape = detectShape(file.name, entry.head, file.size <= HEAD_BYTES, entry.path || configured);
    show(".problem", entry.shape.problem);
    show(".warning", entry.shape.warning);
  }
  $(".shape", card).textContent = entry.shape.label;
  showPaths(entry);
  renderPreview($(".preview", card), entry.shape, file.name);
  checkConflicts(entry);
  checkPrevious(entry);
  $(".start", card).disabled = !state.datasetOk || entry.uploading || entry.done;
  $("#start-all").disabled = !state.datasetOk || !state.files.some((f) => !f.uploading && !f.done);
}

function showPaths(entry) {
  const box = $(".paths", entry.card);
  const paths = entry.shape.paths || [];
  box.hidden = paths.length === 0 && !entry.path;
  if (box.hidden) return;
  const select = $(".path", box);
  const options = ["", ...paths].map((p) => Object.assign(document.createElement("option"), { value: p, textContent: p || "(the whole object is one record)", selected: p === (entry.path || "") }));
  select.replaceChildren(...options);
  $(".hint", box).textContent = entry.path
    ? `the producer reads records under ${entry.path} only when the dataset's settings say so: [datasets.${state.dataset || "<name>"}] records_path = "${entry.path}"`
    : "";
}

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
  const response = await fetch(`api/reports/report?source=${encodeURIComponent(source)}`, { cache: "no-store" });
  if (seq !== entry.previousSeq || !response.ok) return;
  const report = await response.json();
  note.textContent = report.what
    ? `${source} was sent before and failed (${report.what}); this upload replaces it`
    : `${source} was sent before (${report.records} documents); this upload replaces that version: its documents are overwritten, and those the new file no longer has are deleted`;
  note.hidden = false;
}

// ---- upload and progress ----------------------------------------------------------------------------

async function start(entry) {
  const { card, file } = entry;
  entry.uploading = true;
  $(".start", card).disabled = true;
  $(".remove", card).disabled = true;
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
    }, state.idField || null);
    entry.done = true;
    status.textContent = `uploaded: ${bytes(file.size)}; now in the inbox as ${source}`;
    card.dataset.source = source;
    loadDatasetNames(); // a new dataset is one now
    follow(entry, source, dataset);
  } catch (e) {
    status.textContent = e instanceof UploadRefused ? `refused: ${e.message}` : `failed: ${e.message}`;
    status.classList.add("problem");
    entry.uploading = false;
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
  let last = null;
  events.onmessage = (e) => {
    const n = JSON.parse(e.data);
    last = n;
    const total = n.produced != null ? n.produced - (n.superseded ?? 0) : estimate;
    const done = (n.indexed ?? 0) + (n.dead_lettered ?? 0);
    const eta = n.docs_per_s > 0 && total > done ? `${Math.ceil((total - done) / n.docs_per_s)} s` : "—";
    const rows = [
      ["state", n.settled ? n.state : { waiting: "waiting in the inbox", reading: "being read", done: "read; indexing", failed: "failed; indexing what was read" }[n.state] ?? n.state],
      ["bytes uploaded", `${bytes(file.size)} of ${bytes(file.size)}`],
      ["records read", n.read ?? "—"],
      ["produced", n.produced ?? "—"],
      ["indexed", n.indexed ?? (n.unknown ? "unknown" : "—")],
      ["rejected", n.rejected],
      ...(n.superseded ? [["same id as a later record", `${n.superseded} (the last one wins)`]] : []),
      ["dead-lettered", n.dead_lettered ?? (n.unknown ? "unknown" : "—")],
      ...(n.surplus ? [["more than this version makes", `${n.surplus} (an earlier version's, still to be deleted)`]] : []),
      ...(n.expired ? [["expired from Kafka", `${n.expired} (never indexed: drop the file again)`]] : []),
      ["docs/s", n.docs_per_s],
      ["ETA", n.settled ? "done" : eta],
    ];
    table.tBodies[0].replaceChildren(...rows.map(([label, value]) => {
      const row = document.createElement("tr");
      row.dataset.figure = label;
      row.append(Object.assign(document.createElement("td"), { textContent: label }), Object.assign(document.createElement("td"), { textContent: String(value) }));
      return row;
    }));
    const why = n.unknown ?? n.problem; // the ledger's "unknown, because …" once the file is read
    if (why) status.textContent = `uploaded: now in the inbox as ${source}; ${why}`;
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
  if (n.state === "failed") {
    status.textContent = `${source} failed: ${n.reason}${n.what_to_do ? `. ${n.what_to_do}` : ""}`;
    status.classList.add("problem");
  } else if (n.expired) { // settled, with the reason: the ledger counts them as lost, the fix is to send them again
    status.textContent = `${source}: ${n.expired} records expired from Kafka before they were indexed (the topic's retention removed them); ${n.indexed} indexed, ${n.dead_lettered} dead-lettered, ${n.rejected} rejected. Drop the file again under the same name to index them`;
    status.classList.add("problem");
  } else {
    status.textContent = `${source}: all ${n.read} records arrived: ${n.indexed} indexed, ${n.dead_lettered} dead-lettered, ${n.rejected} rejected`;
  }
  card.classList.add("settled");
  const links = $(".links", card);
  const link = (text, href, download) => Object.assign(document.createElement("a"), { textContent: text, href, ...(download ? { download: "" } : {}) });
  const items = [link("Search this dataset", `#search?dataset=${encodeURIComponent(dataset)}`)];
  if (n.has_rejected_file) items.push(link(`Rejected records (${n.rejected})`, `api/reports/rejected?${q}`, true));
  if (n.dead_lettered) items.push(link(`Dead letters (${n.dead_lettered})`, `api/reports/dead-letters?${q}`, true));
  items.push(link(n.state === "failed" ? "Error report" : "Manifest", `api/reports/report?${q}`, false));
  links.replaceChildren(...items);
  links.hidden = false;
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
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles([...e.dataTransfer.files]); });
$("#id-field").addEventListener("change", (e) => { state.idField = e.target.value; refreshAll(); });
$("#start-all").addEventListener("click", () => { for (const entry of state.files) if (!entry.uploading && !entry.done) start(entry); });
window.addEventListener("hashchange", route);
route();
loadDatasetNames();
checkDataset();
