// Selecting rows (on the page, across pages, or every match) for bulk delete and bulk move.
// The gateway fixes "all matching" when asked and reports each number's outcome.

import { $, announce, cell, confirmAction, h, plural, unitName } from "./dom.js";
import { api } from "./http.js";
import { PERMISSION, may, state } from "./state.js";

const selected = new Map(); // id -> number, kept across pages until the filters change
let allMatching = false; // every number the filters match, however many pages
let matching = 0; // how many the filters match now
let onDone = () => {};

export const bulkAllowed = () => may(PERMISSION.edit) || may(PERMISSION.delete);

// The row's checkbox cell (none if the user may neither move nor delete).
export function selectCell(item) {
  const box = h("input", { type: "checkbox", checked: allMatching || selected.has(item.id) });
  box.setAttribute("aria-label", `Select ${item.number}`);
  box.disabled = allMatching;
  box.onchange = () => {
    if (box.checked) selected.set(item.id, item.number);
    else selected.delete(item.id);
    draw();
  };
  const td = cell("Select", box);
  td.className = "select";
  return td;
}

// After each page is drawn: how many match, and the page's checkboxes.
export function pageDrawn(total) {
  matching = total;
  draw();
}

export function clearSelection() {
  selected.clear();
  allMatching = false;
  draw();
}

function pageBoxes() {
  return [...document.querySelectorAll("#numbers td.select input")];
}

function count() {
  return allMatching ? matching : selected.size;
}

function draw() {
  const bar = $("#bulk-bar");
  bar.hidden = !bulkAllowed();
  for (const element of document.querySelectorAll("[data-bulk]")) element.hidden = !bulkAllowed();
  const boxes = pageBoxes();
  const page = $("#select-page");
  page.checked = boxes.length > 0 && boxes.every((box) => box.checked);
  page.indeterminate = !page.checked && boxes.some((box) => box.checked);
  page.disabled = allMatching || !boxes.length;
  $("#selection-text").textContent = allMatching
    ? `All ${plural(matching, "matching number")} selected.`
    : selected.size ? `${plural(selected.size, "number")} selected.` : "No numbers selected.";
  const offer = !allMatching && selected.size > 0 && matching > selected.size;
  $("#select-matching").hidden = !offer;
  $("#select-matching").textContent = `Select all ${plural(matching, "matching number")}`;
  $("#clear-selection").hidden = count() === 0;
  $("#bulk-move-group").hidden = !may(PERMISSION.edit);
  $("#bulk-delete").hidden = !may(PERMISSION.delete);
  $("#bulk-move").disabled = $("#bulk-delete").disabled = !state.writable || count() === 0;
}

function selectPage() {
  const check = $("#select-page").checked;
  for (const box of pageBoxes()) {
    if (box.checked !== check) {
      box.checked = check;
      box.onchange();
    }
  }
  draw();
}

// ---- running one: confirm, send, follow, report per number ----

async function run(action, filters) {
  const n = count();
  const target = $("#bulk-ou").value || null;
  const confirmed = await confirmAction(action === "move"
    ? { title: `Move ${plural(n, "caller number")} to ${unitName(target)}?`,
        text: "Their descriptions stay as they are.", yes: "Move" }
    : { title: `Delete ${plural(n, "caller number")}?`,
        text: "They can no longer be used for outbound calls.", yes: "Delete" });
  const trigger = $(action === "move" ? "#bulk-move" : "#bulk-delete");
  if (!confirmed) return trigger.focus();
  const body = { action, ...(action === "move" ? { org_unit_id: target } : {}) };
  if (allMatching) body.filter = filters;
  else body.numbers = [...selected.values()];
  const result = $("#bulk-result");
  const doing = action === "move" ? "Moving" : "Deleting";
  try {
    let operation = await api("/caller-number-bulk-operations", { method: "POST", json: body });
    result.textContent = `${doing} ${plural(n, "number")}…`;
    while (operation.status !== "completed") {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      operation = await api(`/caller-number-bulk-operations/${operation.id}`);
      const done = Object.values(operation.counts).reduce((a, b) => a + b, 0);
      result.textContent = `${doing}: ${done.toLocaleString()} of ` +
        `${operation.total.toLocaleString()} done…`;
    }
    await report(operation, action);
  } catch (error) {
    return announce(result, error.message);
  }
  clearSelection();
  await onDone();
  result.focus();
}

async function report(operation, action) {
  const done = operation.counts[action === "move" ? "updated" : "deleted"] ?? 0;
  const refused = operation.counts.rejected ?? 0;
  const verb = action === "move" ? "moved" : "deleted";
  const lines = [h("p", {}, `${done.toLocaleString()} ${verb}, ${refused.toLocaleString()} not ${verb}.`)];
  if (refused) {
    const page = await api(`/caller-number-bulk-operations/${operation.id}/outcomes` +
      "?status=rejected&limit=20");
    lines.push(h("ul", {}, ...page.items.map((o) => h("li", {}, `${o.number}: ${o.message}`))));
    if (page.total > page.items.length) {
      lines.push(h("p", {}, `and ${(page.total - page.items.length).toLocaleString()} more.`));
    }
  }
  $("#bulk-result").replaceChildren(...lines);
}

export function installBulk({ filters, reload }) {
  onDone = reload;
  $("#select-page").onchange = selectPage;
  $("#select-matching").onclick = () => {
    allMatching = true;
    for (const box of pageBoxes()) Object.assign(box, { checked: true, disabled: true });
    draw();
    $("#clear-selection").focus();
  };
  $("#clear-selection").onclick = () => {
    clearSelection();
    for (const box of pageBoxes()) Object.assign(box, { checked: false, disabled: false });
    draw();
    $("#select-page").focus();
  };
  $("#bulk-move").onclick = () => run("move", filters());
  $("#bulk-delete").onclick = () => run("delete", filters());
}
