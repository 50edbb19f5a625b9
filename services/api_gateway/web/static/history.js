// A caller number's history in its Edit dialog: who changed what, when, and by what.

import { $, h, time, unitName } from "./dom.js";
import { api } from "./http.js";

const ACTIONS = { created: "Created", updated: "Changed", deleted: "Deleted" };
const PAGE = 20;

let shown = null; // { id, cursor } of the history in the dialog

export async function showHistory(item) {
  shown = { id: item.id, cursor: null };
  $("#history-list").replaceChildren();
  $("#history-more").hidden = true;
  $("#history-status").textContent = "Loading the history…";
  await loadMore();
}

async function loadMore() {
  const wanted = shown;
  const cursor = wanted.cursor ? `&cursor=${wanted.cursor}` : "";
  let page;
  try {
    page = await api(`/caller-numbers/${wanted.id}/history?limit=${PAGE}${cursor}`);
  } catch (error) {
    $("#history-status").textContent = `The history could not be loaded: ${error.message}`;
    return;
  }
  if (shown !== wanted) return; // the dialog moved on to another number
  wanted.cursor = page.next_cursor;
  $("#history-list").append(...page.items.map(entry));
  const count = $("#history-list").children.length;
  $("#history-status").textContent = count
    ? ""
    : "No changes recorded (numbers added before the history began have none).";
  $("#history-more").hidden = !page.next_cursor;
}

function entry(record) {
  return h(
    "li",
    {},
    h("strong", {}, ACTIONS[record.action]),
    " ",
    time(record.changed_at),
    ` by ${record.principal_sub} (${record.principal_role.replace("_", " ")})`,
    h("br"),
    h("span", { className: "change" }, change(record)),
    h("br"),
    h("span", { className: "source" }, source(record)),
  );
}

function change({ before, after }) {
  const state = (s) => `${unitName(s.org_unit_id)}${s.description ? `, “${s.description}”` : ""}`;
  if (before && after) return `${state(before)} → ${state(after)}`;
  return state(after ?? before);
}

function source(record) {
  if (record.import_task_id) return `Import ${record.import_task_id}, row ${record.import_row}`;
  if (record.bulk_operation_id) return `Bulk operation ${record.bulk_operation_id}`;
  if (record.command_id) return `Command ${record.command_id}`;
  return "Changed in the database directly";
}

export function wireHistory() {
  $("#history-more").onclick = loadMore;
}
