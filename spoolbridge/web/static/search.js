// Search: a simple query string over one dataset or all, hits with highlighted matches and their source
// file, a document's JSON on click, and the top terms of a field the user picks.
const $ = (selector, root = document) => root.querySelector(selector);
const MARK_START = "\ue000"; // as the server asks OpenSearch to mark matches (spoolbridge/web/search.py)
const MARK_END = "\ue001";
const TITLE_FIELDS = ["name", "title", "label", "id"];
let only = null; // {field, term}: the facet term the results are narrowed to
let asked = 0; // the number of the latest search: an answer to an older one is dropped, never shown over it

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
  for (const field of TITLE_FIELDS) {
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

async function fillFacetFields() {
  const dataset = $("#search-dataset").value;
  const response = await fetch(`api/fields?dataset=${encodeURIComponent(dataset)}`, { cache: "no-store" });
  const { fields = [] } = await response.json();
  const select = $("#facet-field");
  const chosen = select.value;
  select.replaceChildren(Object.assign(document.createElement("option"), { value: "", textContent: "(no facet)" }),
    ...fields.map((f) => Object.assign(document.createElement("option"), { value: f, textContent: f, selected: f === chosen })));
}

export async function runSearch() {
  const params = new URLSearchParams({ q: $("#q").value, dataset: $("#search-dataset").value, facet: $("#facet-field").value });
  if (only) { params.set("only_field", only.field); params.set("only_term", only.term); }
  const summary = $("#search-summary");
  summary.textContent = "searching…";
  const mine = ++asked;
  delete $("#results").dataset.query; // the hits shown answer no query being asked now
  const answer = await (await fetch(`api/search?${params}`, { cache: "no-store" })).json();
  if (mine !== asked) return;
  if (answer.problem) summary.textContent = answer.problem;
  else summary.textContent = `${answer.total.toLocaleString("en-US")} hit${answer.total === 1 ? "" : "s"}${answer.total > answer.hits.length ? ` (first ${answer.hits.length} shown)` : ""}`;
  if (only && !answer.problem) {
    const clear = Object.assign(document.createElement("button"), { type: "button", className: "only", textContent: `${only.field} = ${only.term} ✕` });
    clear.title = "show all hits again";
    clear.addEventListener("click", () => { only = null; runSearch(); });
    summary.append(" with ", clear);
  }
  const results = $("#results");
  results.replaceChildren(...(answer.hits || []).map(renderHit));
  results.dataset.query = params.get("q"); // which query these hits answer
  const facet = $("#facet");
  facet.hidden = !$("#facet-field").value;
  $("h3", facet).textContent = `top ${$("#facet-field").value}`;
  const field = $("#facet-field").value;
  $("ol", facet).replaceChildren(...(answer.facet || []).map(({ term, count }) => {
    const row = document.createElement("li");
    const pick = Object.assign(document.createElement("button"), { type: "button", className: "term", textContent: String(term), title: "show only these" });
    pick.append(Object.assign(document.createElement("span"), { className: "count", textContent: count.toLocaleString("en-US") }));
    pick.addEventListener("click", () => { only = { field, term: String(term) }; runSearch(); });
    row.append(pick);
    return row;
  }));
}

export async function openSearch(dataset) {
  const response = await fetch("api/datasets", { cache: "no-store" });
  const { datasets = [] } = await response.json();
  const select = $("#search-dataset");
  const want = dataset ?? select.value;
  select.replaceChildren(Object.assign(document.createElement("option"), { value: "", textContent: "all datasets" }),
    ...datasets.map((d) => Object.assign(document.createElement("option"), { value: d, textContent: d, selected: d === want })));
  await fillFacetFields();
  await runSearch();
}

$("#search-form").addEventListener("submit", (e) => { e.preventDefault(); runSearch(); });
$("#search-dataset").addEventListener("change", async () => { only = null; await fillFacetFields(); runSearch(); });
$("#facet-field").addEventListener("change", runSearch);
