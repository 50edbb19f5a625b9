// The Access Code page: caller numbers, the add form and imports, over the HTTP API.
// The token stays in sessionStorage (this tab only); its payload is decoded for display only.

import { clearDraft, installAddForm, restoreDraft, saveNumbers } from "./add.js";
import { $, busy, h } from "./dom.js";
import { api, onFeatureDisabled, onUnauthorized } from "./http.js";
import { installImports, loadImports, stopPolling } from "./imports.js";
import { installList, showNumbers } from "./list.js";
import { installSession, openRenew, stopWatching, tokenProblem, useToken } from "./session.js";
import { PERMISSION, may, state } from "./state.js";
import { showUsage } from "./usage.js";

const ROLES = { tenant_admin: "Tenant administrator", agent: "Agent" };
const DOES = {
  [PERMISSION.add]: "add", [PERMISSION.import]: "import",
  [PERMISSION.edit]: "edit", [PERMISSION.delete]: "delete",
};

function setWritable(writable, message) {
  state.writable = writable;
  $("#writes-off").hidden = writable;
  $("#writes-off").textContent = writable ? "" : message;
  for (const element of document.querySelectorAll("[data-write]")) element.disabled = !writable;
}

// ---- signing in and out ----

function signOut(message = "", { forget = false } = {}) {
  stopPolling();
  stopWatching();
  sessionStorage.removeItem("token");
  if (forget) clearDraft(); // an explicit sign-out leaves nothing for the next person
  state.token = state.claims = null;
  $("#app").hidden = $("#who").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message;
}

// Rights and OUs from the gateway; the page keeps what is typed in it.
async function loadUser() {
  const [me, choosable] = await Promise.all([api("/me"), api("/org-units")]);
  const who = state.claims;
  $("#who-text").textContent = `Signed in as ${who.sub} · tenant ${who.tenant_id} · ` +
    `${ROLES[who.role] ?? who.role} · OU ${who.org_unit_id ?? "none"}`;
  state.permissions = new Set(me.permissions);
  setWritable(me.writes_enabled, me.writes_disabled_message);
  showUsage(me.caller_numbers);
  state.units = choosable.org_units;
  state.unorganized = choosable.unorganized;
  fillOrgUnitSelects();
  explainRights();
}

async function start() {
  const problem = state.token ? tokenProblem(state.token) : "";
  if (problem !== null) return signOut(problem);
  useToken(state.token);
  try {
    await loadUser();
  } catch (error) {
    return signOut(error.message);
  }
  restoreDraft();
  $("#token").value = "";
  $("#sign-in").hidden = true;
  $("#app").hidden = $("#who").hidden = false;
  route();
}

function fillOrgUnitSelects() {
  const units = state.units.map((unit) => h("option", { value: unit.id }, unit.name));
  const unorganized = state.unorganized ? [h("option", { value: "" }, "Unorganized")] : [];
  for (const select of document.querySelectorAll(".ou-choice")) {
    const chosen = select.value;
    select.replaceChildren(...[...unorganized, ...units].map((option) => option.cloneNode(true)));
    if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
  }
  const filter = $("#ou-filter");
  const chosen = filter.value;
  filter.replaceChildren(
    h("option", { value: "all" }, "All"),
    ...(state.unorganized ? [h("option", { value: "unorganized" }, "Unorganized")] : []),
    ...state.units.map((unit) => h("option", { value: `ou:${unit.id}` }, unit.name)),
  );
  if (chosen) filter.value = chosen;
}

// What the user may not do is said, with the reason, where they would look for it.
function explainRights() {
  const missing = Object.keys(DOES).filter((permission) => !may(permission));
  const lacks = (permissions) => `your account lacks the permission${permissions.length > 1 ? "s" : ""} ` +
    `${permissions.join(", ")}, which a tenant administrator grants`;
  $("#rights").hidden = !missing.length;
  if (missing.length) {
    const allowed = ["view", ...Object.keys(DOES).filter(may).map((p) => DOES[p])];
    $("#rights-text").textContent = `You may ${listed(allowed)} caller numbers. You may not ` +
      `${listed(missing.map((p) => DOES[p]), "or")}: ${lacks(missing)}.`;
  }
  $("#add-denied").hidden = may(PERMISSION.add);
  $("#add-form").hidden = !may(PERMISSION.add);
  $("#add-denied").textContent = `You may not add numbers: ${lacks([PERMISSION.add])}.`;
  $("#import-denied").hidden = may(PERMISSION.import);
  $("#import-allowed").hidden = !may(PERMISSION.import);
  $("#import-denied").textContent = `You may not import numbers: ${lacks([PERMISSION.import])}. ` +
    "Imports of others in your organization units are listed below.";
  const rowMissing = [PERMISSION.edit, PERMISSION.delete].filter((p) => !may(p));
  $("#numbers-note").hidden = !rowMissing.length;
  $("#numbers-note").textContent = `${listed(rowMissing.map((p) => DOES[p]), "and")
    .replace(/^./, (c) => c.toUpperCase())} ${rowMissing.length > 1 ? "are" : "is"} not offered: ` +
    `${lacks(rowMissing)}.`;
}

function listed(words, last = "and") {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} ${last} ${words.at(-1)}`;
}

// ---- views: #numbers, #add, #import ----

function route() {
  const wanted = location.hash.slice(1);
  state.view = ["numbers", "add", "import"].includes(wanted) ? wanted : "numbers";
  for (const section of document.querySelectorAll("[data-view]")) {
    section.hidden = section.dataset.view !== state.view;
  }
  for (const tab of document.querySelectorAll(".tabs a")) {
    if (tab.getAttribute("href") === `#${state.view}`) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  stopPolling();
  if (state.view === "numbers") showNumbers();
  if (state.view === "import") loadImports();
}

// ---- wiring ----

onFeatureDisabled((message) => setWritable(false, message));
onUnauthorized((message) => {
  if ($("#app").hidden) return; // signing in: start() shows it
  openRenew(`Your session has ended (${message}) Paste a fresh token to go on; what you ` +
    "typed on this page is kept.");
});
$("#sign-in-form").onsubmit = (event) => {
  event.preventDefault();
  const token = $("#token").value.trim();
  const problem = tokenProblem(token);
  if (problem) { // the pasted text stays, to be corrected
    $("#sign-in-error").textContent = problem;
    return;
  }
  state.token = token;
  start();
};
$("#sign-out").onclick = () => signOut("Signed out.", { forget: true });
window.onhashchange = route;
$("#add-form").onsubmit = (event) => busy(event.target, () => saveNumbers(event));
installAddForm();
installList();
installImports();
installSession(loadUser);
start();
