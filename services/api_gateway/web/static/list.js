// The caller-number list: filters, sort, page size and page kept in the URL; edit; delete.

import { bulkAllowed, clearSelection, installBulk, pageDrawn, selectCell } from "./bulk.js";
import { $, announce, cell, confirmAction, h, time, unitName, writeButton } from "./dom.js";
import { showHistory, wireHistory } from "./history.js";
import { api, command, download } from "./http.js";
import { PERMISSION, may, state } from "./state.js";
import { refreshUsage } from "./usage.js";

const SIZES = [20, 50, 100];
const SORTS = ["number", "org_unit", "created_at"];
const FIRST_DIRECTION = { number: "", org_unit: "", created_at: "-" }; // newest first
const DEFAULTS = { prefix: "", contains: "", ou: "all", sub: false, sort: "-created_at" };
let view = { ...DEFAULTS, size: 20, page: 1 };
let total = 0;
let loads = 0; // only the latest request draws: an older answer arriving late is dropped
let shownHash = null; // Back/Forward within the list changes the query only, not the hash

// ---- the URL holds the list's state, so that reload, Back and a shared link keep it ----

function fromUrl() {
  const url = new URLSearchParams(location.search);
  const size = Number(url.get("size"));
  const sort = url.get("sort") ?? DEFAULTS.sort;
  view = {
    prefix: url.get("prefix")?.replace(/\D/g, "").slice(0, 24) ?? "",
    contains: url.get("contains")?.replace(/\D/g, "").slice(0, 24) ?? "",
    ou: url.get("ou") ?? "all",
    sub: url.get("sub") === "1",
    sort: SORTS.includes(sort.replace(/^-/, "")) ? sort : DEFAULTS.sort,
    size: SIZES.includes(size) ? size : 20,
    page: Math.max(1, Math.floor(Number(url.get("page"))) || 1),
  };
}

function toUrl({ replace = false } = {}) {
  const url = new URLSearchParams();
  for (const key of ["prefix", "contains", "ou", "sort"]) {
    if (view[key] !== DEFAULTS[key]) url.set(key, view[key]);
  }
  if (view.sub) url.set("sub", "1");
  if (view.size !== 20) url.set("size", view.size);
  if (view.page !== 1) url.set("page", view.page);
  const query = url.toString();
  const address = `${location.pathname}${query ? `?${query}` : ""}${location.hash}`;
  if (address === location.pathname + location.search + location.hash) return;
  history[replace ? "replaceState" : "pushState"](null, "", address);
}

function toForm() {
  const form = $("#search");
  form.prefix.value = view.prefix;
  form.digits.value = view.contains;
  // An OU from a link that this user may not see: the list shows all of theirs instead.
  if (![...form.org_unit.options].some((o) => o.value === view.ou)) view.ou = "all";
  form.org_unit.value = view.ou;
  form.sub_units.checked = view.sub;
  form.size.value = String(view.size);
  form.sub_units.disabled = !form.org_unit.value.startsWith("ou:");
  drawSort();
}

function drawSort() {
  $("#sort-by").value = view.sort;
  for (const th of document.querySelectorAll("th[data-sort]")) {
    const key = th.dataset.sort;
    if (view.sort.replace(/^-/, "") !== key) th.removeAttribute("aria-sort");
    else th.setAttribute("aria-sort", view.sort.startsWith("-") ? "descending" : "ascending");
  }
}

// The filters as the API's query string (the list's and the export's).
function filters() {
  const query = new URLSearchParams({ sort: view.sort });
  if (view.prefix) query.set("prefix", view.prefix);
  if (view.contains) query.set("contains", view.contains);
  if (view.ou === "unorganized") query.set("unorganized", "true");
  if (view.ou.startsWith("ou:")) {
    query.set("org_unit_id", view.ou.slice(3));
    if (view.sub) query.set("include_sub_units", "true");
  }
  return query;
}

const lastPage = () => Math.max(1, Math.ceil(total / view.size));

// ---- loading and drawing ----

export async function showNumbers() {
  shownHash = location.hash;
  clearSelection();
  fromUrl();
  toForm();
  await loadNumbers();
}

async function loadNumbers() {
  const query = filters();
  query.set("limit", view.size);
  query.set("offset", (view.page - 1) * view.size);
  const ticket = ++loads;
  let page;
  try {
    page = await api(`/caller-numbers?${query}`);
  } catch (error) {
    if (ticket === loads) $("#numbers-status").textContent = error.message;
    return;
  }
  if (ticket !== loads) return;
  total = page.total;
  if (page.items.length === 0 && total > 0) { // past the end (a stale link): the last page
    view.page = lastPage();
    toUrl({ replace: true });
    return loadNumbers();
  }
  $("#numbers").replaceChildren(...page.items.map(numberRow));
  drawPager(page);
  pageDrawn(total);
}

function drawPager(page) {
  const first = page.offset + 1;
  const last = page.offset + page.items.length;
  $("#page-info").textContent = total
    ? `${first.toLocaleString()} to ${last.toLocaleString()} of ${total.toLocaleString()} ` +
      `· page ${view.page.toLocaleString()} of ${lastPage().toLocaleString()}`
    : "No caller numbers found.";
  $("#first").disabled = $("#previous").disabled = view.page === 1;
  $("#next").disabled = $("#last").disabled = view.page >= lastPage();
  $("#jump-page").max = lastPage();
}

function numberRow(item) {
  const buttons = [];
  if (may(PERMISSION.edit)) {
    buttons.push(writeButton("Edit", `Edit ${item.number}`, () => openEdit(item)));
  }
  if (may(PERMISSION.delete)) {
    buttons.push(writeButton("Delete", `Delete ${item.number}`, () => deleteNumber(item)));
  }
  const operations = cell("Operation",
    h("div", { className: "operations" }, ...buttons.length ? buttons : [h("span", { className: "hint" }, "View only")]));
  const row = h("tr", {}, ...(bulkAllowed() ? [selectCell(item)] : []),
    cell("Caller number", item.number), cell("OU", unitName(item.org_unit_id)),
    cell("Description", item.description), cell("Created", time(item.created_at)), operations);
  row.dataset.id = item.id;
  return row;
}

function go(page) {
  view.page = Math.min(Math.max(1, page), lastPage());
  toUrl();
  drawSort(); // the filter fields keep what is typed in them, searched or not
  return loadNumbers();
}

// The filters as a bulk operation's "all matching" body.
function bulkFilter() {
  const wanted = { prefix: view.prefix, contains: view.contains };
  if (view.ou === "unorganized") wanted.unorganized = true;
  if (view.ou.startsWith("ou:")) {
    wanted.org_unit_id = view.ou.slice(3);
    wanted.include_sub_units = view.sub;
  }
  return wanted;
}

function search(event) {
  event.preventDefault();
  clearSelection(); // a selection belongs to the filters it was made under
  const form = $("#search");
  Object.assign(view, {
    prefix: form.prefix.value.replace(/\D/g, ""),
    contains: form.digits.value.replace(/\D/g, ""),
    ou: form.org_unit.value,
    sub: form.sub_units.checked,
    size: Number(form.size.value),
    page: 1,
  });
  toUrl();
  toForm();
  loadNumbers();
}

function sortBy(key) {
  const current = view.sort.replace(/^-/, "");
  if (current === key) view.sort = view.sort.startsWith("-") ? key : `-${key}`;
  else view.sort = FIRST_DIRECTION[key] + key;
  go(1);
}

// ---- edit and delete; the keyboard lands on the row worked on, or the next one ----

let editing = null; // the caller number in the edit dialog

function rowButton(id, name) {
  return $(`#numbers tr[data-id="${id}"]`)?.querySelector(`button[aria-label^="${name}"]`);
}

function openEdit(item) {
  const dialog = $("#edit-dialog");
  editing = item;
  dialog.querySelector("h2 span").textContent = item.number;
  $("#edit-ou").value = item.org_unit_id ?? "";
  $("#edit-description").value = item.description;
  $("#edit-error").textContent = "";
  dialog.showModal();
  showHistory(item);
}

function closeEdit() {
  $("#edit-dialog").close();
  rowButton(editing.id, "Edit")?.focus();
}

async function saveEdit(event) {
  event.preventDefault();
  const body = {
    org_unit_id: $("#edit-ou").value || null,
    description: $("#edit-description").value,
  };
  try {
    const [result] = (await command(`/caller-numbers/${editing.id}`, "PATCH", body)).results;
    if (result?.status === "rejected") throw new Error(result.message);
  } catch (error) {
    if (error.code !== "feature_disabled") $("#edit-error").textContent = error.message;
    return;
  }
  $("#edit-dialog").close();
  await loadNumbers();
  const status = $("#numbers-status");
  const button = rowButton(editing.id, "Edit");
  status.textContent = `Saved ${editing.number}.` + (button ? "" : " It no longer matches the filter.");
  if (button) button.focus();
  else status.focus();
}

async function deleteNumber(item) {
  const row = $(`#numbers tr[data-id="${item.id}"]`);
  const position = [...row.parentElement.children].indexOf(row);
  const confirmed = await confirmAction({
    title: `Delete caller number ${item.number}?`,
    text: "It can no longer be used for outbound calls.",
    yes: "Delete",
  });
  if (!confirmed) {
    rowButton(item.id, "Delete")?.focus();
    return;
  }
  const status = $("#numbers-status");
  let message;
  try {
    const [result] = (await command(`/caller-numbers/${item.id}`, "DELETE")).results;
    message = result?.status === "rejected" ? result.message : `Deleted ${item.number}.`;
  } catch (error) {
    message = error.message;
  }
  await loadNumbers();
  refreshUsage();
  const rows = $("#numbers").children;
  const next = rows[Math.min(position, rows.length - 1)]?.querySelector("button");
  status.textContent = message;
  if (next) next.focus(); // the status is read out (role=status); the keyboard stays in the list
  else status.focus();
}

export function installList() {
  installBulk({ filters: bulkFilter, reload: loadNumbers });
  $("#search").onsubmit = search;
  $("#ou-filter").onchange = () => { $("#sub-units").disabled = !$("#ou-filter").value.startsWith("ou:"); };
  $("#first").onclick = () => go(1);
  $("#previous").onclick = () => go(view.page - 1);
  $("#next").onclick = () => go(view.page + 1);
  $("#last").onclick = () => go(lastPage());
  $("#jump").onsubmit = (event) => {
    event.preventDefault();
    go(Number($("#jump-page").value) || 1);
  };
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.querySelector("button").onclick = () => sortBy(th.dataset.sort);
  }
  $("#edit-form").onsubmit = saveEdit;
  wireHistory();
  $("#edit-cancel").onclick = closeEdit;
  $("#edit-dialog").addEventListener("cancel", (event) => { event.preventDefault(); closeEdit(); });
  const exportAs = (format) => download(`/caller-numbers/export?format=${format}&${filters()}`,
    `caller-numbers.${format}`).catch((error) => announce($("#numbers-status"), error.message));
  $("#export-csv").onclick = () => exportAs("csv");
  $("#export-xlsx").onclick = () => exportAs("xlsx");
  $("#sort-by").onchange = () => {
    view.sort = $("#sort-by").value;
    go(1);
  };
  $("#page-size").onchange = () => $("#search").requestSubmit();
  window.addEventListener("popstate", () => {
    if (!$("#app").hidden && state.view === "numbers" && location.hash === shownHash) showNumbers();
  });
}
