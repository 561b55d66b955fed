// The page: choose a dataset (checked as you type by the server's own rules), drop files, see what each
// holds before sending, upload (resumable), then follow each file through the pipeline.
import { HEAD_BYTES, detectShape, display, fieldsOf } from "./shape.js";
import { UploadRefused, upload } from "./upload.js";

const $ = (selector, root = document) => root.querySelector(selector);
const CSRF = { "X-Spoolbridge-Request": "1" };
const PREVIEW_RECORDS = 20;
const PREVIEW_COLUMNS = 30;

const state = { dataset: "", datasetOk: false, info: null, files: [] };

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
  if (info.problem) out.textContent = `valid name; ${info.problem}`;
  else if (info.exists) out.textContent = `existing dataset: ${info.documents} documents in index ${info.index}`;
  else out.textContent = `new dataset (index ${info.index})`;
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
    $(".remove", card).addEventListener("click", () => { card.remove(); state.files = state.files.filter((f) => f !== entry); });
    $(".start", card).addEventListener("click", () => start(entry));
    $(".path", card).addEventListener("change", (e) => { entry.path = e.target.value || null; analyse(entry); });
    $("#file-list").append(card);
    // only the head: the browser never reads the whole file
    const head = file.slice(0, HEAD_BYTES);
    entry.head = /\.gz$/.test(file.name) ? null : await head.text();
    analyse(entry);
  }
}

function refreshAll() {
  for (const entry of state.files) analyse(entry);
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
  renderPreview($(".preview", card), entry.shape.records);
  checkConflicts(entry);
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

function renderPreview(box, records) {
  const fields = fieldsOf(records.slice(0, PREVIEW_RECORDS));
  const columns = [...fields.keys()].filter((path) => !fields.get(path).kinds.has("object")).slice(0, PREVIEW_COLUMNS);
  if (!records.length) { box.textContent = "no complete record in the first 64 KB"; return; }
  const table = document.createElement("table");
  const headRow = table.createTHead().insertRow();
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
  for (const record of records.slice(0, PREVIEW_RECORDS)) {
    const row = body.insertRow();
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

// ---- upload and progress ----------------------------------------------------------------------------

async function start(entry) {
  const { card, file } = entry;
  entry.uploading = true;
  $(".start", card).disabled = true;
  $(".remove", card).disabled = true;
  $(".progress", card).hidden = false;
  const bar = $(".bytes", card);
  bar.max = Math.max(file.size, 1);
  const status = $(".status", card);
  const dataset = state.dataset;
  try {
    const source = await upload(file, dataset, ({ bytes: sent, status: text }) => {
      bar.value = sent;
      status.textContent = `${text}: ${bytes(sent)} of ${bytes(file.size)}`;
    });
    entry.done = true;
    status.textContent = `uploaded: ${bytes(file.size)}; now in the inbox as ${source}`;
    card.dataset.source = source;
    card.dispatchEvent(new CustomEvent("uploaded", { bubbles: true, detail: { source, dataset } }));
  } catch (e) {
    status.textContent = e instanceof UploadRefused ? `refused: ${e.message}` : `failed: ${e.message}`;
    status.classList.add("problem");
    entry.uploading = false;
    $(".start", card).disabled = false;
    $(".remove", card).disabled = false;
  }
}

// ---- wiring -------------------------------------------------------------------------------------------

function route() {
  const search = location.hash === "#search";
  $("#upload").hidden = search;
  $("#search").hidden = !search;
  $("#nav-upload").classList.toggle("current", !search);
  $("#nav-search").classList.toggle("current", search);
}

let typing;
$("#dataset").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(checkDataset, 150); });
$("#files").addEventListener("change", (e) => { addFiles([...e.target.files]); e.target.value = ""; });
const drop = $("#drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles([...e.dataTransfer.files]); });
$("#start-all").addEventListener("click", () => { for (const entry of state.files) if (!entry.uploading && !entry.done) start(entry); });
window.addEventListener("hashchange", route);
route();
loadDatasetNames();
checkDataset();
