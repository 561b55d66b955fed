// Search: the query box (words, "a phrase", field:value, ranges) and the chips over one dataset or all;
// hits with highlighted matches and their source file, a document's JSON on click, the top terms of a
// field the user picks; the fields, values, table and export are analysis.js's.
import { addFilter, asked, exportHits, moreRows, queryParams, readHash, refreshOpenField, renderChips, renderFields, renderSources, renderTable, writeHash } from "./analysis.js";

const $ = (selector, root = document) => root.querySelector(selector);
const number = new Intl.NumberFormat();
const MARK_START = "\ue000"; // as the server asks OpenSearch to mark matches (spoolbridge/web/search.py)
const MARK_END = "\ue001";
const TITLE_FIELDS = ["name", "title", "label", "id"];
let asked_ = 0; // the number of the latest search: an answer to an older one is dropped, never shown over it
let titleField = null; // the dataset's name-like field (the server's choice), else the first of TITLE_FIELDS

// Highlighted text as DOM nodes: the marks become <mark>, everything else stays text.
function highlighted(fragment) {
  const out = document.createDocumentFragment();
  for (const [i, part] of fragment.split(MARK_START).entries()) {
    if (i === 0) { out.append(part); continue; }
    const [hit, rest = ""] = part.split(MARK_END);
    out.append(Object.assign(document.createElement("mark"), { textContent: hit }), rest);
  }
  return out;
}

function titleOf(hit) {
  for (const field of [titleField, ...TITLE_FIELDS].filter(Boolean)) {
    if (hit.highlight[field]) return highlighted(hit.highlight[field][0]);
    const value = hit.document?.[field];
    if (typeof value === "string" || typeof value === "number") return document.createTextNode(String(value));
  }
  return document.createTextNode(hit.id);
}

function renderHit(hit) {
  const item = document.createElement("li");
  item.className = "hit";
  const title = document.createElement("h3");
  // the title is the button that shows the document: reachable by Tab, operated by Enter and Space
  const open = Object.assign(document.createElement("button"), { type: "button", className: "open" });
  open.setAttribute("aria-expanded", "false");
  open.append(titleOf(hit));
  title.append(open);
  const meta = Object.assign(document.createElement("div"), { className: "meta", textContent: `source: ${hit.source ?? "?"} · index ${hit.index} · id ${hit.id}` });
  item.append(title, meta);
  for (const [field, fragments] of Object.entries(hit.highlight).filter(([f]) => !TITLE_FIELDS.includes(f)).slice(0, 3)) {
    const line = Object.assign(document.createElement("p"), { className: "snippet" });
    line.append(Object.assign(document.createElement("span"), { className: "field", textContent: field }));
    for (const fragment of fragments) line.append(highlighted(fragment), " … ");
    item.append(line);
  }
  const toggle = () => {
    const shown = $("pre", item);
    open.setAttribute("aria-expanded", String(!shown));
    if (shown) { shown.remove(); return; }
    // focusable, so that a long document scrolls by keyboard too
    const view = Object.assign(document.createElement("pre"), { className: "document", tabIndex: 0, textContent: JSON.stringify(hit.document, null, 2) });
    view.setAttribute("aria-label", "the document's JSON");
    item.append(view);
  };
  open.addEventListener("click", toggle);
  item.addEventListener("click", (e) => { if (!e.target.closest("pre, button")) toggle(); }); // the whole card, for a mouse
  return item;
}

const changed = () => run(); // a chip, a column, a sort or the view changed: ask again, keep the URL

async function fillFacetFields() {
  const response = await fetch(`api/fields?dataset=${encodeURIComponent(asked.dataset)}`, { cache: "no-store" });
  const { fields = [] } = await response.json();
  const select = $("#facet-field");
  const chosen = select.value;
  select.replaceChildren(Object.assign(document.createElement("option"), { value: "", textContent: "(no facet)" }),
    ...fields.map((f) => Object.assign(document.createElement("option"), { value: f, textContent: f, selected: f === chosen })));
}

// Everything the search view shows, for what is asked now (the URL says it too).
async function run() {
  asked.q = $("#q").value;
  asked.dataset = $("#search-dataset").value;
  writeHash();
  renderChips(changed);
  const table = asked.view === "table";
  $("#results").hidden = table;
  $("#table-box").hidden = !table;
  for (const button of document.querySelectorAll("#view-switch [data-view]")) button.setAttribute("aria-pressed", String(button.dataset.view === asked.view));
  await Promise.all([table ? renderTable(changed) : runSearch(), renderFields(changed), renderSources(), showDiscover()]);
  refreshOpenField(changed);
}

async function showDiscover() {
  const link = $("#discover");
  if (!asked.dataset) { link.hidden = true; return; }
  const info = await (await fetch(`api/datasets/${encodeURIComponent(asked.dataset)}`, { cache: "no-store" })).json();
  link.hidden = !info.discover;
  if (info.discover) link.href = info.discover;
}

export async function runSearch() {
  const params = queryParams({ facet: $("#facet-field").value });
  const summary = $("#search-summary");
  summary.textContent = "searching…";
  const mine = ++asked_;
  delete $("#results").dataset.query; // the hits shown answer no query being asked now
  const answer = await (await fetch(`api/search?${params}`, { cache: "no-store" })).json();
  if (mine !== asked_) return;
  if (answer.problem) summary.textContent = answer.problem;
  else summary.textContent = `${number.format(answer.total)} hit${answer.total === 1 ? "" : "s"}${answer.total > answer.hits.length ? ` (first ${answer.hits.length} shown; the table pages through all)` : ""}`;
  const results = $("#results");
  titleField = answer.title_field;
  results.replaceChildren(...(answer.hits || []).map(renderHit));
  results.dataset.query = params.get("q"); // which query these hits answer
  const facet = $("#facet");
  const field = $("#facet-field").value;
  facet.hidden = !field;
  $("h3", facet).textContent = `top ${field}`;
  $("ol", facet).replaceChildren(...(answer.facet || []).map(({ term, count }) => {
    const row = Object.assign(document.createElement("li"), {});
    const button = Object.assign(document.createElement("button"), { type: "button", className: "term", textContent: String(term), title: "show only these" });
    button.addEventListener("click", () => addFilter({ op: "is", field: field.replace(/\.keyword$/, ""), value: String(term) }, changed));
    row.append(button, Object.assign(document.createElement("span"), { className: "count", textContent: number.format(count) }));
    return row;
  }));
}

export async function openSearch(dataset) {
  readHash();
  if (dataset !== undefined) asked.dataset = dataset;
  const response = await fetch("api/datasets", { cache: "no-store" });
  const { datasets = [] } = await response.json();
  const select = $("#search-dataset");
  select.replaceChildren(Object.assign(document.createElement("option"), { value: "", textContent: "all datasets" }),
    ...datasets.map((d) => Object.assign(document.createElement("option"), { value: d, textContent: d, selected: d === asked.dataset })));
  $("#q").value = asked.q;
  await fillFacetFields();
  await run();
}

$("#search-form").addEventListener("submit", (e) => { e.preventDefault(); run(); });
$("#search-dataset").addEventListener("change", async () => { asked.filters = []; asked.columns = []; asked.sort = ""; $("#values").hidden = true; asked.dataset = $("#search-dataset").value; await fillFacetFields(); run(); });
$("#facet-field").addEventListener("change", runSearch);
$("#field-filter").addEventListener("input", () => renderFields(changed));
$("#values-within").addEventListener("input", () => refreshOpenField(changed));
$("#values-close").addEventListener("click", () => { $("#values").hidden = true; });
$("#more-rows").addEventListener("click", moreRows);
$("#export-csv").addEventListener("click", () => exportHits("csv"));
$("#export-ndjson").addEventListener("click", () => exportHits("ndjson"));
for (const button of document.querySelectorAll("#view-switch [data-view]")) button.addEventListener("click", () => { asked.view = button.dataset.view; run(); });
