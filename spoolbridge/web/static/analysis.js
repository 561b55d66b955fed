// The analyst's side of the search view: the dataset's fields with how many hits have each, a field's top
// values with counts and shares (plus "other", "missing" and distinct values; a range and a histogram for
// numbers and dates), filter chips that live in the URL, the hits as a table paged to the last one, an
// export of the hits, and documents per source file at a glance. Every figure comes from the server
// (spoolbridge/web/analysis.py); this file only shows them.
const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, props = {}, ...children) => { const node = Object.assign(document.createElement(tag), props); node.append(...children); return node; };
const number = new Intl.NumberFormat();
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });

// What is asked, kept in the URL (#search?dataset=…&q=…&filters=…&view=…&column=…&sort=…) so a search
// can be bookmarked or shared.
export const asked = { dataset: "", q: "", filters: [], view: "list", columns: [], sort: "" };

export function readHash() {
  const [, query = ""] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(query);
  asked.dataset = params.get("dataset") ?? "";
  asked.q = params.get("q") ?? "";
  try { asked.filters = JSON.parse(params.get("filters") || "[]"); } catch { asked.filters = []; }
  if (!Array.isArray(asked.filters)) asked.filters = [];
  asked.view = params.get("view") === "table" ? "table" : "list";
  asked.columns = params.getAll("column");
  asked.sort = params.get("sort") ?? "";
}

export function writeHash() {
  const params = new URLSearchParams();
  if (asked.dataset) params.set("dataset", asked.dataset);
  if (asked.q) params.set("q", asked.q);
  if (asked.filters.length) params.set("filters", JSON.stringify(asked.filters));
  if (asked.view === "table") params.set("view", "table");
  for (const column of asked.columns) params.append("column", column);
  if (asked.sort) params.set("sort", asked.sort);
  const hash = `#search${params.size ? `?${params}` : ""}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

export function queryParams(extra = {}) {
  const params = new URLSearchParams({ q: asked.q, dataset: asked.dataset, ...extra });
  if (asked.filters.length) params.set("filters", JSON.stringify(asked.filters));
  return params;
}

async function ask(path, params) {
  const response = await fetch(`${path}?${params}`, { cache: "no-store" });
  return response.json();
}

// ---- chips ----------------------------------------------------------------------------------------
const OP_WORDS = { is: "is", is_not: "is not", exists: "has", missing: "lacks" };

function chipText(f) {
  if (f.op === "exists" || f.op === "missing") return `${OP_WORDS[f.op]} ${f.field}`;
  if (f.op === "range") return `${f.field} ${f.low ?? "…"} to ${f.high ?? "…"}`;
  return `${f.field} ${OP_WORDS[f.op]} ${f.value}`;
}

export function addFilter(filter, changed) {
  const same = (f) => f.field === filter.field && (f.op === filter.op || ["is", "is_not"].includes(f.op) === ["is", "is_not"].includes(filter.op)) && f.value === filter.value;
  asked.filters = [...asked.filters.filter((f) => !same(f)), filter];
  changed();
}

export function renderChips(changed) {
  const box = $("#chips");
  box.replaceChildren(...asked.filters.map((f, i) => {
    const chip = el("button", { type: "button", className: `chip ${f.op}`, title: "remove this filter" }, chipText(f), el("span", { className: "x", ariaHidden: "true" }, " ✕"));
    chip.setAttribute("aria-label", `remove filter: ${chipText(f)}`);
    chip.addEventListener("click", () => { asked.filters = asked.filters.filter((_, j) => j !== i); changed(); });
    return chip;
  }));
  box.hidden = asked.filters.length === 0;
}

// ---- fields and values ----------------------------------------------------------------------------
let fieldsAsked = 0;
export async function renderFields(changed) {
  const mine = ++fieldsAsked;
  const list = $("#field-list");
  const answer = await ask("api/field-list", queryParams());
  if (mine !== fieldsAsked) return;
  if (answer.problem) { list.replaceChildren(el("li", { className: "problem" }, answer.problem)); return; }
  const wanted = $("#field-filter").value.trim().toLowerCase();
  const shown = answer.fields.filter((f) => f.kind !== "object" && (!wanted || f.field.toLowerCase().includes(wanted)));
  list.replaceChildren(...shown.map((f) => {
    const share = f.share == null ? "" : ` · ${percent.format(f.share)}`;
    const button = el("button", { type: "button", className: "field-name" }, f.field);
    button.addEventListener("click", () => renderValues(f, changed));
    return el("li", {}, button, el("span", { className: "count" }, f.documents == null ? " ?" : ` ${number.format(f.documents)}${share}`), el("span", { className: "type" }, ` ${f.type}`));
  }));
  if (answer.unknown) list.append(el("li", { className: "hint" }, answer.unknown));
  const columns = $("#columns-list");
  columns.replaceChildren(...answer.fields.filter((f) => f.kind !== "object").map((f) => {
    const box = el("input", { type: "checkbox", checked: asked.columns.includes(f.field), value: f.field });
    box.addEventListener("change", () => {
      asked.columns = box.checked ? [...asked.columns, f.field] : asked.columns.filter((c) => c !== f.field);
      changed();
    });
    return el("label", {}, box, ` ${f.field}`);
  }));
}

let valuesAsked = 0;
let openField = null; // {field, kind, exact, type}
let valuesShown = 20;

export async function renderValues(field, changed, { keepSize = false } = {}) {
  openField = field;
  if (!keepSize) valuesShown = 20;
  const box = $("#values");
  box.hidden = false;
  $("h3", box).textContent = field.field;
  const body = $(".values-body", box);
  const actions = $(".field-actions", box);
  const has = el("button", { type: "button" }, "has this field");
  has.addEventListener("click", () => addFilter({ op: "exists", field: field.field }, changed));
  const lacks = el("button", { type: "button" }, "lacks this field");
  lacks.addEventListener("click", () => addFilter({ op: "missing", field: field.field }, changed));
  const column = el("button", { type: "button" }, asked.columns.includes(field.field) ? "remove column" : "show as column");
  column.addEventListener("click", () => {
    asked.columns = asked.columns.includes(field.field) ? asked.columns.filter((c) => c !== field.field) : [...asked.columns, field.field];
    asked.view = "table";
    changed();
  });
  actions.replaceChildren(has, " ", lacks, " ", column);
  if (!field.exact) {
    body.replaceChildren(el("p", { className: "hint" }, `${field.field} is ${field.type}: its words are searched (type them in the search box), its values are not counted.`));
    return;
  }
  const within = $("#values-within");
  within.hidden = !["keyword", "text"].includes(field.kind);
  const mine = ++valuesAsked;
  body.replaceChildren(el("p", { className: "hint" }, "counting…"));
  const answer = await ask("api/values", queryParams({ field: field.field, size: String(valuesShown), within: within.hidden ? "" : within.value }));
  if (mine !== valuesAsked) return;
  if (answer.problem) { body.replaceChildren(el("p", { className: "problem" }, answer.problem)); return; }
  const of = asked.q || asked.filters.length ? "of the hits" : "of the dataset";
  const summary = el("p", { className: "hint" },
    `${number.format(answer.with_field)} documents have it (${percent.format(answer.total ? answer.with_field / answer.total : 0)} ${of}); `,
    `${answer.distinct_exact ? "" : "about "}${number.format(answer.distinct)} distinct value${answer.distinct === 1 ? "" : "s"}`,
    answer.distinct_exact ? "" : " (an estimate above 3,000)");
  const rows = answer.values.map((v) => valueRow(field, v, answer.total, changed));
  if (answer.other > 0) rows.push(staticRow("other", answer.other, answer.other_share, "documents whose value is not listed above"));
  if (answer.missing > 0) rows.push(staticRow("missing", answer.missing, answer.missing_share, "documents without this field"));
  const table = el("table", { className: "values-table" }, el("thead", {}, el("tr", {}, el("th", {}, "value"), el("th", {}, "documents"), el("th", {}, "share"), el("th", {}, el("span", { className: "sr-only" }, "filter")))), el("tbody", {}, ...rows));
  const parts = [summary, table];
  if (answer.more) {
    const more = el("button", { type: "button" }, "more values");
    more.addEventListener("click", () => { valuesShown += 20; renderValues(field, changed, { keepSize: true }); });
    parts.push(more);
  }
  if (answer.range) parts.push(el("p", { className: "hint" }, `from ${answer.range.min} to ${answer.range.max}`), histogram(answer.histogram || []));
  if (answer.error_bound > 0) parts.push(el("p", { className: "hint" }, `counts may be off by up to ${number.format(answer.error_bound)} (an index of several shards)`));
  body.replaceChildren(...parts);
}

function valueRow(field, v, total, changed) {
  const keep = el("button", { type: "button", title: "only this value" }, "+");
  keep.setAttribute("aria-label", `only ${field.field} ${v.value}`);
  keep.addEventListener("click", () => addFilter({ op: "is", field: field.field, value: String(v.value) }, changed));
  const drop = el("button", { type: "button", title: "leave this value out" }, "−");
  drop.setAttribute("aria-label", `leave out ${field.field} ${v.value}`);
  drop.addEventListener("click", () => addFilter({ op: "is_not", field: field.field, value: String(v.value) }, changed));
  const bar = el("span", { className: "bar" });
  bar.style.width = `${Math.round((v.share ?? 0) * 100)}%`;
  return el("tr", {}, el("td", { className: "value" }, String(v.value)), el("td", { className: "num" }, number.format(v.count)), el("td", { className: "share" }, el("span", { className: "bar-box" }, bar), ` ${percent.format(v.share ?? 0)}`), el("td", { className: "filter" }, keep, drop));
}

function staticRow(label, count, share, title) {
  return el("tr", { className: "bucket", title }, el("td", { className: "value" }, el("em", {}, label)), el("td", { className: "num" }, number.format(count)), el("td", { className: "share" }, percent.format(share ?? 0)), el("td"));
}

function histogram(bars) {
  const highest = Math.max(1, ...bars.map((b) => b.count));
  const box = el("div", { className: "histogram", role: "img" });
  box.setAttribute("aria-label", `histogram: ${bars.map((b) => `${b.from}: ${b.count}`).join("; ")}`);
  for (const b of bars) {
    const bar = el("span", { title: `${b.from}: ${number.format(b.count)}` });
    bar.style.height = `${Math.max(1, Math.round((b.count / highest) * 100))}%`;
    box.append(bar);
  }
  return box;
}

export function refreshOpenField(changed) {
  if (openField && !$("#values").hidden) renderValues(openField, changed, { keepSize: true });
}

// ---- sources --------------------------------------------------------------------------------------
export async function renderSources() {
  const line = $("#sources");
  if (!asked.dataset) { line.hidden = true; return; }
  const answer = await ask(`api/datasets/${encodeURIComponent(asked.dataset)}/sources`, queryParams());
  if (answer.problem) { line.hidden = true; return; }
  line.hidden = false;
  const files = answer.values.map((v) => `${v.value} ${number.format(v.count)} (${percent.format(v.share ?? 0)})`);
  const of = asked.q || asked.filters.length ? "hits" : "documents";
  line.replaceChildren(
    el("strong", {}, `${number.format(answer.total)} ${of}`),
    " (each a unique record: a record sent again replaces its earlier copy)",
    files.length ? ` from ${number.format(answer.distinct)} file${answer.distinct === 1 ? "" : "s"}: ${files.join(" · ")}` : "",
    answer.other > 0 ? ` · other files ${number.format(answer.other)}` : "");
}

// ---- the table ------------------------------------------------------------------------------------
let tableAsked = 0;
let nextPage = null;
let tableColumns = [];

export async function renderTable(changed) {
  const mine = ++tableAsked;
  const params = queryParams({ size: "50" });
  for (const column of asked.columns) params.append("column", column);
  if (asked.sort) params.set("sort", asked.sort);
  const answer = await ask("api/hits", params);
  if (mine !== tableAsked) return;
  const table = $("#hit-table");
  if (answer.problem) { $("#table-status").textContent = answer.problem; $("tbody", table).replaceChildren(); return; }
  const columns = asked.columns.length ? asked.columns : [answer.title_field ?? "_id"].filter(Boolean);
  const [sortField, sortOrder] = asked.sort ? [asked.sort.slice(0, asked.sort.lastIndexOf(":")), asked.sort.slice(asked.sort.lastIndexOf(":") + 1)] : [null, null];
  const header = el("tr", {}, ...["source", ...columns].map((c) => {
    const sortable = c !== "_id";
    const th = el("th", { scope: "col" });
    if (!sortable) { th.textContent = c; return th; }
    const order = sortField === c ? sortOrder : null;
    th.setAttribute("aria-sort", order === "asc" ? "ascending" : order === "desc" ? "descending" : "none");
    const button = el("button", { type: "button", className: "sort" }, c, order ? (order === "asc" ? " ▲" : " ▼") : "");
    button.addEventListener("click", () => { asked.sort = `${c}:${order === "desc" ? "asc" : "desc"}`; changed(); });
    th.append(button);
    return th;
  }));
  $("thead", table).replaceChildren(header);
  $("tbody", table).replaceChildren();
  tableColumns = columns;
  appendRows(answer, columns);
  $("#table-status").textContent = `${number.format(answer.total)} hits`;
}

function appendRows(answer, columns) {
  const body = $("#hit-table tbody");
  for (const row of answer.rows) {
    const open = el("button", { type: "button", className: "open", title: "open the document" }, cellText(row.source));
    const tr = el("tr", {}, el("td", {}, open), ...columns.map((c) => el("td", {}, cellText(c === "_id" ? row.id : c in row.cells ? row.cells[c] : pathValue(row.document, c)))));
    open.addEventListener("click", () => {
      const shown = tr.nextElementSibling?.classList.contains("document-row");
      if (shown) { tr.nextElementSibling.remove(); open.setAttribute("aria-expanded", "false"); return; }
      const cell = el("td", { colSpan: columns.length + 1 }, el("pre", { className: "document" }, JSON.stringify(row.document, null, 2)));
      tr.after(el("tr", { className: "document-row" }, cell));
      open.setAttribute("aria-expanded", "true");
    });
    body.append(tr);
  }
  nextPage = answer.next;
  const more = $("#more-rows");
  more.hidden = !nextPage;
  const shown = body.querySelectorAll("tr:not(.document-row)").length;
  $("#rows-shown").textContent = `${number.format(shown)} shown`;
}

function pathValue(document, path) {
  let values = [document];
  for (const part of path.split(".")) values = values.flatMap((v) => (v && typeof v === "object" && part in v ? [v[part]].flat() : []));
  return values.length === 0 ? null : values.length === 1 ? values[0] : values;
}

function cellText(value) {
  if (value == null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export async function moreRows() {
  if (!nextPage) return;
  const answer = await ask("api/hits", new URLSearchParams({ next: nextPage }));
  if (answer.problem) { $("#table-status").textContent = answer.problem; return; }
  appendRows(answer, tableColumns);
}

// ---- export ---------------------------------------------------------------------------------------
export async function exportHits(format) {
  const status = $("#export-status");
  const params = queryParams({ format });
  for (const column of asked.columns) params.append("column", column);
  if (asked.sort) params.set("sort", asked.sort);
  const response = await fetch(`api/export?${params}`, { cache: "no-store" });
  if (!response.ok) { status.textContent = (await response.json()).problem; return; }
  const total = Number(response.headers.get("X-Total-Hits") || 0);
  const reader = response.body.getReader();
  const parts = [];
  let lines = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    for (const byte of value) if (byte === 10) lines += 1;
    const rows = format === "csv" ? Math.max(0, lines - 1) : lines;
    status.textContent = `exporting: ${number.format(Math.min(rows, total))} of ${number.format(total)} rows`;
  }
  const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] ?? `export.${format}`;
  const link = el("a", { href: URL.createObjectURL(new Blob(parts)), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  status.textContent = `exported ${number.format(total)} rows as ${name}`;
}
