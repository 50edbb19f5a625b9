// The Access Code page: caller numbers, the add form and imports, over the HTTP API.
// The token stays in sessionStorage (this tab only); its payload is decoded for display only.

const API = "/api/v1";
const PAGE_SIZE = 20;
const MAX_BOXES = 100;
const ROLES = { tenant_admin: "Tenant administrator", agent: "Agent" };
const STATUSES = {
  pending: "Pending", running: "Running", completed: "Completed",
  failed: "Failed", cancelled: "Cancelled",
};
const RUNNING = new Set(["pending", "running"]);
const FINISHED = new Set(["completed", "cancelled"]); // these have a result to download

const $ = (selector) => document.querySelector(selector);
const state = {
  token: sessionStorage.getItem("token"),
  permissions: new Set(),
  writable: true,
  units: [], // the OUs the user may choose
  unorganized: false, // whether Unorganized is one of them
  offset: 0,
  view: "numbers",
  poll: null,
};

// ---- HTTP ----

class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    const detail = Array.isArray(error.details) ? error.details[0]?.message : null;
    super([error.message ?? `The server answered ${status}.`, detail].filter(Boolean).join(" "));
    Object.assign(this, { status, code: error.code, details: error.details });
  }
}

async function request(path, { method = "GET", json, form, wait } = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  let body = form;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (wait) headers.Prefer = `wait=${wait}`;
  const response = await fetch(API + path, { method, headers, body });
  if (response.ok) return response;
  const error = new ApiError(response.status, await response.json().catch(() => null));
  if (error.code === "feature_disabled") setWritable(false, error.message);
  if (response.status === 401) signOut(error.message);
  throw error;
}

const api = async (path, options) => (await request(path, options)).json();

// A write is a command: wait for its outcome, and poll for it if the gateway answered 202.
async function command(path, method, json) {
  let outcome = await api(path, { method, json, wait: 10 });
  for (let tries = 0; outcome.status === "pending" && tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    outcome = await api(`/commands/${outcome.command_id}`);
  }
  for (const result of outcome.results) {
    if (result.reason === "feature_disabled") setWritable(false, result.message);
  }
  return outcome;
}

// Downloads need the bearer token, so a plain link cannot do: fetch, then save the blob.
async function download(path, fallbackName) {
  const response = await request(path);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---- small DOM helpers ----

function h(tag, props = {}, ...children) {
  const element = Object.assign(document.createElement(tag), props);
  element.append(...children);
  return element;
}

function writeButton(text, label, onclick) {
  const button = h("button", { type: "button", textContent: text, onclick });
  button.disabled = !state.writable;
  button.setAttribute("aria-label", label);
  button.dataset.write = "";
  return button;
}

const time = (iso) => (iso ? h("time", { dateTime: iso }, new Date(iso).toLocaleString()) : "");
const unitName = (id) =>
  id === null ? "Unorganized" : state.units.find((unit) => unit.id === id)?.name ?? id;
const permitted = (element) =>
  !element.dataset.permission || state.permissions.has(element.dataset.permission);

// The form's write button waits with the request, so that a double click sends nothing twice.
async function busy(form, work) {
  const button = form.querySelector("[data-write]");
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = !state.writable;
  }
}

// A feature_disabled refusal shows in the banner; any other error next to what failed.
function showError(element, error) {
  element.textContent = error.code === "feature_disabled" ? "" : error.message;
}

function setWritable(writable, message) {
  state.writable = writable;
  $("#writes-off").hidden = writable;
  $("#writes-off").textContent = writable ? "" : message;
  for (const element of document.querySelectorAll("[data-write]")) element.disabled = !writable;
}

// ---- signing in ----

function claims(token) {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return null;
  }
}

function signOut(message = "") {
  clearTimeout(state.poll);
  sessionStorage.removeItem("token");
  state.token = null;
  $("#app").hidden = $("#who").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message;
}

async function start() {
  const who = claims(state.token ?? "");
  if (!who) return signOut(state.token ? "That is not a token." : "");
  let me, choosable;
  try {
    [me, choosable] = await Promise.all([api("/me"), api("/org-units")]);
  } catch (error) {
    return signOut(error.message);
  }
  $("#who-text").textContent = `Signed in as ${who.sub} · tenant ${who.tenant_id} · ` +
    `${ROLES[who.role] ?? who.role} · OU ${who.org_unit_id ?? "none"}`;
  state.permissions = new Set(me.permissions);
  state.offset = 0;
  for (const element of document.querySelectorAll("[data-permission]")) {
    element.hidden = !state.permissions.has(element.dataset.permission);
  }
  setWritable(me.writes_enabled, me.writes_disabled_message);
  state.units = choosable.org_units;
  state.unorganized = choosable.unorganized;
  fillOrgUnitSelects();
  $("#sign-in").hidden = true;
  $("#app").hidden = $("#who").hidden = false;
  route();
}

function fillOrgUnitSelects() {
  const units = state.units.map((unit) => h("option", { value: unit.id }, unit.name));
  const unorganized = state.unorganized ? [h("option", { value: "" }, "Unorganized")] : [];
  for (const select of document.querySelectorAll(".ou-choice")) {
    select.replaceChildren(...[...unorganized, ...units].map((option) => option.cloneNode(true)));
  }
  const filters = state.units.map((unit) => h("option", { value: `ou:${unit.id}` }, unit.name));
  $("#ou-filter").replaceChildren(
    h("option", { value: "all" }, "All"),
    ...(state.unorganized ? [h("option", { value: "unorganized" }, "Unorganized")] : []),
    ...filters,
  );
}

// ---- views: #numbers, #add, #import ----

function route() {
  const wanted = location.hash.slice(1);
  const link = document.querySelector(`.tabs a[href="#${wanted}"]`);
  state.view = link && !link.parentElement.hidden ? wanted : "numbers";
  for (const section of document.querySelectorAll("[data-view]")) {
    section.hidden = section.dataset.view !== state.view || !permitted(section);
  }
  for (const tab of document.querySelectorAll(".tabs a")) {
    if (tab.getAttribute("href") === `#${state.view}`) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  clearTimeout(state.poll);
  if (state.view === "numbers") loadNumbers();
  if (state.view === "import") loadImports();
}

// ---- caller numbers: list, edit, delete ----

async function loadNumbers() {
  const search = $("#search");
  const query = new URLSearchParams({ limit: PAGE_SIZE, offset: state.offset });
  if (search.prefix.value) query.set("prefix", search.prefix.value);
  const filter = search.org_unit.value;
  if (filter === "unorganized") query.set("unorganized", "true");
  if (filter.startsWith("ou:")) query.set("org_unit_id", filter.slice(3));
  let page;
  try {
    page = await api(`/caller-numbers?${query}`);
  } catch (error) {
    $("#numbers-status").textContent = error.message;
    return;
  }
  $("#numbers").replaceChildren(...page.items.map(numberRow));
  const last = page.offset + page.items.length;
  $("#page-info").textContent = page.total
    ? `${page.offset + 1} to ${last} of ${page.total}` : "No caller numbers found.";
  $("#previous").disabled = page.offset === 0;
  $("#next").disabled = last >= page.total;
}

function numberRow(item) {
  const operations = h("td");
  if (state.permissions.has("caller_number:edit")) {
    operations.append(writeButton("Edit", `Edit ${item.number}`, () => openEdit(item)));
  }
  if (state.permissions.has("caller_number:delete")) {
    operations.append(writeButton("Delete", `Delete ${item.number}`, () => deleteNumber(item)));
  }
  return h("tr", {},
    h("td", {}, item.number), h("td", {}, unitName(item.org_unit_id)),
    h("td", {}, item.description), h("td", {}, time(item.created_at)), operations);
}

let editing = null; // the caller number in the edit dialog

function openEdit(item) {
  const dialog = $("#edit-dialog");
  editing = item;
  dialog.querySelector("h2 span").textContent = item.number;
  $("#edit-ou").value = item.org_unit_id ?? "";
  $("#edit-description").value = item.description;
  $("#edit-error").textContent = "";
  dialog.showModal();
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
    showError($("#edit-error"), error);
    return;
  }
  $("#edit-dialog").close();
  $("#numbers-status").textContent = `Saved ${editing.number}.`;
  loadNumbers();
}

function confirmDelete(number) {
  const dialog = $("#delete-dialog");
  dialog.querySelector("h2 span").textContent = number;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true });
  });
}

async function deleteNumber(item) {
  if (!(await confirmDelete(item.number))) return;
  const status = $("#numbers-status");
  try {
    const [result] = (await command(`/caller-numbers/${item.id}`, "DELETE")).results;
    status.textContent = result?.status === "rejected" ? result.message : `Deleted ${item.number}.`;
  } catch (error) {
    showError(status, error);
  }
  loadNumbers();
}

// ---- the add form: one box per number ----

let boxCount = 0;

function addBox() {
  const box = $("#number-box").content.firstElementChild.cloneNode(true);
  const [input, error] = [box.querySelector("input"), box.querySelector(".error")];
  input.id = `number-${++boxCount}`;
  error.id = `${input.id}-error`;
  box.querySelector("label").htmlFor = input.id;
  input.setAttribute("aria-describedby", error.id);
  box.querySelector("button").onclick = () => {
    box.remove();
    renumberBoxes();
    $("#number-boxes").lastElementChild.querySelector("input").focus();
  };
  $("#number-boxes").append(box);
  renumberBoxes();
  return input;
}

function renumberBoxes() {
  const boxes = [...$("#number-boxes").children];
  boxes.forEach((box, index) => {
    box.querySelector("label span").textContent = index + 1;
    box.querySelector("button").setAttribute("aria-label", `Remove caller number ${index + 1}`);
    box.querySelector("button").disabled = boxes.length === 1;
  });
  $("#add-box").disabled = boxes.length >= MAX_BOXES;
}

function markBox(box, message) {
  box.querySelector("input").setAttribute("aria-invalid", message ? "true" : "false");
  box.querySelector(".error").textContent = message ?? "";
}

async function saveNumbers(event) {
  event.preventDefault();
  const boxes = [...$("#number-boxes").children];
  boxes.forEach((box) => markBox(box, null));
  $("#add-error").textContent = $("#add-status").textContent = "";
  const body = {
    numbers: boxes.map((box) => box.querySelector("input").value),
    org_unit_id: $("#add-ou").value || null,
    description: $("#add-description").value,
  };
  let outcome;
  try {
    outcome = await command("/caller-numbers", "POST", body);
  } catch (error) {
    if (error.code !== "invalid_numbers") showError($("#add-error"), error);
    else for (const bad of error.details) markBox(boxes[bad.index], bad.message);
    return;
  }
  if (outcome.status === "pending") {
    $("#add-status").textContent = "Submitted; the outcome is not known yet. See the list later.";
    return;
  }
  showOutcome(boxes, outcome.results);
}

// Boxes whose number was added go; the others stay with their reason.
function showOutcome(boxes, results) {
  const added = [];
  results.forEach((result, index) => {
    if (result.status === "created") {
      added.push(result.number);
      boxes[index].remove();
    } else {
      markBox(boxes[index], result.message);
    }
  });
  if (!$("#number-boxes").children.length) addBox();
  renumberBoxes();
  const failed = results.length - added.length;
  $("#add-status").replaceChildren(
    h("p", {}, `${added.length} added, ${failed} not added.`),
    ...(added.length ? [h("p", {}, `Added: ${added.join(", ")}`)] : []),
    ...(failed ? [h("p", {}, "Those not added stay in their boxes, with the reason.")] : []),
  );
}

// ---- imports ----

async function startImport(event) {
  event.preventDefault();
  const form = new FormData();
  form.append("file", $("#import-file").files[0]);
  if ($("#import-ou").value) form.append("org_unit_id", $("#import-ou").value);
  form.append("description", $("#import-description").value);
  $("#import-error").textContent = "";
  try {
    await api("/caller-number-imports", { method: "POST", form });
  } catch (error) {
    showError($("#import-error"), error);
    return;
  }
  $("#import-file").value = "";
  $("#imports-status").textContent = "Import started.";
  loadImports();
}

async function loadImports() {
  clearTimeout(state.poll);
  let page;
  try {
    page = await api("/caller-number-imports?limit=20");
  } catch (error) {
    $("#imports-status").textContent = error.message;
    return;
  }
  const tbody = $("#imports");
  const rows = page.items.map((task) => {
    const row = tbody.querySelector(`tr[data-id="${task.id}"]`) ?? importRow(task);
    updateImportRow(row, task);
    return row;
  });
  // Rows are updated in place so that polling does not take the focus off a button.
  if (rows.length !== tbody.children.length || rows.some((row, i) => tbody.children[i] !== row)) {
    tbody.replaceChildren(...rows);
  }
  if (state.view === "import" && page.items.some(changing)) {
    state.poll = setTimeout(loadImports, 1000);
  }
}

// Running tasks change, and so do a cancelled task's counters until every row is counted.
function changing({ status, counters: { rows_total: total, succeeded, failed } }) {
  const uncounted = total !== null && succeeded + failed < total;
  return RUNNING.has(status) || (status === "cancelled" && uncounted);
}

function importRow(task) {
  const row = h("tr", {},
    h("td", {}, time(task.created_at)), h("td", {}, task.file_name),
    h("td", { className: "status" }),
    h("td", {}, h("progress", { max: 1 }), h("span", { className: "count" })),
    h("td", { className: "succeeded" }), h("td", { className: "failed" }),
    h("td", { className: "duplicates" }), h("td", { className: "operation" }));
  row.dataset.id = task.id;
  row.querySelector("progress").setAttribute("aria-label", `Progress of ${task.file_name}`);
  return row;
}

function updateImportRow(row, task) {
  const { rows_total: total, succeeded, failed, duplicates } = task.counters;
  const progress = row.querySelector("progress");
  if (total === null) progress.removeAttribute("value");
  else Object.assign(progress, { max: Math.max(total, 1), value: total ? succeeded + failed : 1 });
  row.querySelector(".count").textContent = ` ${succeeded + failed} of ${total ?? "?"}`;
  row.querySelector(".status").textContent =
    STATUSES[task.status] + (task.error_message ? `: ${task.error_message}` : "");
  row.querySelector(".succeeded").textContent = succeeded;
  row.querySelector(".failed").textContent = failed;
  row.querySelector(".duplicates").textContent = duplicates;
  if (row.dataset.status === task.status) return;
  row.dataset.status = task.status;
  const operation = row.querySelector(".operation");
  operation.replaceChildren();
  if (FINISHED.has(task.status)) {
    const button = h("button", { type: "button", textContent: "Download" });
    button.setAttribute("aria-label", `Download the result of ${task.file_name}`);
    button.onclick = () => download(`/caller-number-imports/${task.id}/result`, "result.xlsx")
      .catch((error) => { $("#imports-status").textContent = error.message; });
    operation.append(button);
  } else if (RUNNING.has(task.status)) {
    const label = `Cancel the import of ${task.file_name}`;
    operation.append(writeButton("Cancel", label, () => cancelImport(task)));
  }
}

async function cancelImport(task) {
  try {
    await api(`/caller-number-imports/${task.id}/cancel`, { method: "POST" });
    $("#imports-status").textContent = `Cancelled the import of ${task.file_name}.`;
  } catch (error) {
    showError($("#imports-status"), error);
  }
  loadImports();
}

// ---- wiring ----

$("#sign-in-form").onsubmit = (event) => {
  event.preventDefault();
  state.token = $("#token").value.trim();
  sessionStorage.setItem("token", state.token);
  $("#token").value = "";
  start();
};
$("#sign-out").onclick = () => signOut("Signed out.");
window.onhashchange = route;
$("#search").onsubmit = (event) => {
  event.preventDefault();
  state.offset = 0;
  loadNumbers();
};
$("#previous").onclick = () => {
  state.offset = Math.max(0, state.offset - PAGE_SIZE);
  loadNumbers();
};
$("#next").onclick = () => {
  state.offset += PAGE_SIZE;
  loadNumbers();
};
$("#edit-form").onsubmit = saveEdit;
$("#edit-cancel").onclick = () => $("#edit-dialog").close();
$("#add-box").onclick = () => addBox().focus();
$("#add-form").onsubmit = (event) => busy(event.target, () => saveNumbers(event));
$("#add-description").oninput = (event) => {
  $("#add-description-count").textContent = `${event.target.value.length} of 255 characters`;
};
$("#import-form").onsubmit = (event) => busy(event.target, () => startImport(event));
$("#template").onclick = () => download("/caller-number-imports/template", "template.xlsx")
  .catch((error) => { $("#imports-status").textContent = error.message; });
addBox();
start();
