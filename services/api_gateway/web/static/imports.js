// The import view: upload, and the tasks with honest progress (percent, rows/s, time left).

import { $, announce, busy, cell, confirmAction, h, plural, time, unitName, writeButton }
  from "./dom.js";
import { api, download, request } from "./http.js";
import { state } from "./state.js";
import { refreshUsage } from "./usage.js";

const STATUSES = {
  pending: "Pending", running: "Running", cancelling: "Cancelling", completed: "Completed",
  failed: "Failed", cancelled: "Cancelled",
};
const CANCELLABLE = new Set(["pending", "running"]);
const WITH_REPORT = new Set(["completed", "cancelled"]); // final states with a report
let poll = null;
let loads = 0; // only the latest request draws and polls on: a late older answer is dropped

export const stopPolling = () => clearTimeout(poll);

async function startImport(event) {
  event.preventDefault();
  const dryRun = event.submitter?.id === "import-check";
  const file = $("#import-file").files[0];
  $("#import-error").textContent = "";
  if (!file) {
    $("#import-error").textContent = "Choose a file first.";
    $("#import-file").focus();
    return;
  }
  const send = (confirmDuplicate) => {
    const form = new FormData();
    form.append("file", file);
    if ($("#import-ou").value) form.append("org_unit_id", $("#import-ou").value);
    form.append("description", $("#import-description").value);
    if (dryRun) form.append("dry_run", "true");
    if (confirmDuplicate) form.append("confirm_duplicate", "true");
    return api("/caller-number-imports", { method: "POST", form });
  };
  try {
    if (!await confirmingDuplicates(send, file.name)) return;
  } catch (error) {
    if (error.code !== "feature_disabled") $("#import-error").textContent = error.message;
    return;
  }
  $("#import-file").value = "";
  announce($("#imports-status"), `${dryRun ? "Check" : "Import"} of ${file.name} started.`);
  loadImports();
}

// Sends; a file imported lately (409 duplicate_file) is sent again only if the user says so.
// True once sent, false if the user chose not to.
async function confirmingDuplicates(send, name) {
  try {
    await send(false);
    return true;
  } catch (error) {
    if (error.code !== "duplicate_file") throw error;
    const earlier = error.details.earlier_task;
    const { succeeded, failed } = earlier.counters;
    const confirmed = await confirmAction({
      title: `${name} was imported before`,
      text: `The same file was imported on ${new Date(earlier.created_at).toLocaleString()} ` +
        `(${plural(succeeded, "row")} succeeded, ${failed.toLocaleString()} failed). ` +
        "Import it again? Numbers already there are reported as duplicates.",
      yes: "Import again",
      no: "Don't import",
    });
    if (!confirmed) return false;
    await send(true);
    return true;
  }
}

export async function loadImports() {
  stopPolling();
  const ticket = ++loads;
  let page, now;
  try {
    const response = await request("/caller-number-imports?limit=20");
    // The server's clock, so that rates and times left do not depend on this computer's.
    now = Date.parse(response.headers.get("Date")) || Date.now();
    page = await response.json();
  } catch (error) {
    if (ticket === loads) $("#imports-status").textContent = error.message;
    return;
  }
  if (ticket !== loads) return;
  const tbody = $("#imports");
  const rows = page.items.map((task) => {
    const row = tbody.querySelector(`tr[data-id="${task.id}"]`) ?? importRow(task);
    updateImportRow(row, task, now);
    return row;
  });
  // Rows are updated in place so that polling does not take the focus off a button.
  if (rows.length !== tbody.children.length || rows.some((row, i) => tbody.children[i] !== row)) {
    tbody.replaceChildren(...rows);
  }
  if (state.view === "import" && page.items.some(changing)) poll = setTimeout(loadImports, 1000);
  const running = page.items.filter(changing).length;
  if (running !== lastRunning) refreshUsage(); // an import started or ended: the count moves
  lastRunning = running;
}

let lastRunning = 0;

// Rows with an outcome. Not-processed rows are counted apart from failed ones (SPEC); a server
// that still counts them within failed would go past the total, so they are left out then.
function processed({ rows_total: total, succeeded, failed, not_processed: notProcessed = 0 }) {
  const counted = succeeded + failed + notProcessed;
  return total !== null && counted > total ? succeeded + failed : counted;
}

// Tasks still moving; a cancelled one too while its rows are still being counted.
function changing({ status, counters, report_ready, results_deleted_at }) {
  const uncounted = counters.rows_total !== null && processed(counters) < counters.rows_total;
  const reportComing = WITH_REPORT.has(status) && !report_ready && !results_deleted_at;
  return !(status in STATUSES) || ["pending", "running", "cancelling"].includes(status) ||
    (status === "cancelled" && uncounted) || reportComing;
}

function importRow(task) {
  const kind = task.dry_run ? "Check only, nothing imported · " : task.preview_of ? "Checked before · " : "";
  const target = kind + `to ${unitName(task.org_unit_id)}` +
    (task.description ? ` · ${task.description}` : "");
  const row = h("tr", {},
    cell("Imported", time(task.created_at)),
    cell("File", h("span", { className: "file" }, task.file_name),
      h("span", { className: "hint target" }, target)),
    cell("Status", h("span", { className: "status" })),
    cell("Progress", h("progress", { max: 1 }), h("span", { className: "count" }),
      h("span", { className: "hint speed" })),
    cell("Succeeded", h("span", { className: "succeeded" })),
    cell("Failed", h("span", { className: "failed" })),
    cell("Duplicates", h("span", { className: "duplicates" })),
    cell("Not processed", h("span", { className: "not-processed" })),
    cell("Operation", h("span", { className: "operation" })));
  row.dataset.id = task.id;
  row.querySelector("progress").setAttribute("aria-label", `Progress of ${task.file_name}`);
  return row;
}

const seconds = (s) =>
  s < 90 ? plural(Math.max(1, Math.round(s)), "second") : s < 5400
    ? plural(Math.round(s / 60), "minute") : plural(Math.round(s / 360) / 10, "hour");

// "1,234 of 200,000 · 1%", and while running "3,400 rows/s · about 58 seconds left · done by …".
function progressText(task, now) {
  const { rows_total: total } = task.counters;
  const done = processed(task.counters);
  if (total === null) {
    return { count: task.status === "failed" ? "" : `${done.toLocaleString()} rows so far`, speed: "" };
  }
  const percent = total ? Math.floor((done / total) * 100) : 100;
  const count = `${done.toLocaleString()} of ${total.toLocaleString()} · ${percent}%`;
  const started = Date.parse(task.started_at);
  const ended = task.finished_at ? Date.parse(task.finished_at) : now;
  const elapsed = (ended - started) / 1000;
  if (!task.started_at || done === 0) return { count, speed: "" };
  if (elapsed < 1) return { count, speed: task.finished_at ? "took under a second" : "" };
  const rate = done / elapsed;
  let speed = `${Math.round(rate).toLocaleString()} rows/s`;
  if (task.status === "running" && done < total) {
    const left = (total - done) / rate;
    const finish = new Date(Date.now() + left * 1000).toLocaleTimeString();
    speed += ` · about ${seconds(left)} left · done by ${finish}`;
  } else if (task.finished_at) {
    speed += ` · took ${seconds(elapsed)}`;
  }
  return { count, speed };
}

function updateImportRow(row, task, now) {
  const { rows_total: total, succeeded, failed, duplicates } = task.counters;
  const progress = row.querySelector("progress");
  const moving = task.status === "pending" || task.status === "running";
  // An indeterminate bar animates: only while the total is not known yet and work goes on.
  if (total !== null) Object.assign(progress, { max: Math.max(total, 1), value: total ? processed(task.counters) : 1 });
  else if (moving) progress.removeAttribute("value");
  else progress.value = 0; // a final state never animates, even hidden
  progress.hidden = total === null && !moving;
  const { count, speed } = progressText(task, now);
  row.querySelector(".count").textContent = count;
  row.querySelector(".speed").textContent = speed;
  row.querySelector(".status").textContent =
    (task.dry_run && task.status === "completed" ? "Checked" : STATUSES[task.status] ?? task.status) +
    (task.error_message ? `: ${task.error_message}` : "");
  row.querySelector(".succeeded").textContent = succeeded.toLocaleString();
  row.querySelector(".failed").textContent = failed.toLocaleString();
  row.querySelector(".duplicates").textContent = duplicates.toLocaleString();
  row.querySelector(".not-processed").textContent =
    (task.counters.not_processed ?? 0).toLocaleString();
  // The Download button comes once the report is stored, which is just after the final state.
  const shown = `${task.status}:${task.report_ready}:${task.imported_as}`;
  if (row.dataset.status === shown) return;
  row.dataset.status = shown;
  const operation = row.querySelector(".operation");
  operation.replaceChildren();
  if (WITH_REPORT.has(task.status) && task.report_ready) {
    const button = h("button", { type: "button", textContent: "Download" });
    button.setAttribute("aria-label", `Download the result of ${task.file_name}`);
    button.onclick = () => download(`/caller-number-imports/${task.id}/result`, "result.xlsx")
      .catch((error) => announce($("#imports-status"), error.message));
    operation.append(button);
    if (task.dry_run && task.status === "completed" && !task.imported_as) {
      const label = `Import ${task.file_name} for real`;
      operation.append(writeButton("Import for real", label, () => importForReal(task)));
    }
  } else if (CANCELLABLE.has(task.status)) {
    const label = `Cancel the import of ${task.file_name}`;
    operation.append(writeButton("Cancel", label, () => cancelImport(task)));
  } else if (task.status === "cancelling") {
    operation.append(h("span", { className: "hint" }, "Stopping; the report comes when every row is counted."));
  }
}

async function importForReal(task) {
  const status = $("#imports-status");
  const path = `/caller-number-imports/${task.id}/import`;
  try {
    const send = (confirm) => api(path + (confirm ? "?confirm_duplicate=true" : ""), { method: "POST" });
    if (await confirmingDuplicates(send, task.file_name)) {
      announce(status, `Import of ${task.file_name} started.`);
    }
  } catch (error) {
    announce(status, error.message);
  }
  loadImports();
}

async function cancelImport(task) {
  const confirmed = await confirmAction({
    title: `Cancel the import of ${task.file_name}?`,
    text: "Numbers already added stay. Rows not yet applied are not processed; the report " +
      "lists them, and you can import them again later.",
    yes: "Cancel import",
    no: "Keep importing",
  });
  const status = $("#imports-status");
  if (!confirmed) {
    $(`#imports tr[data-id="${task.id}"] .operation button`)?.focus();
    return;
  }
  try {
    await api(`/caller-number-imports/${task.id}/cancel`, { method: "POST" });
    announce(status, `Cancelled the import of ${task.file_name}.`);
  } catch (error) {
    announce(status, error.message);
  }
  loadImports();
}

export function installImports() {
  $("#import-form").onsubmit = (event) => busy(event.target, () => startImport(event));
  $("#template").onclick = () => download("/caller-number-imports/template", "template.xlsx")
    .catch((error) => announce($("#imports-status"), error.message));
}
