// The add form: one box per number, paste splitting, a text mode, outcomes, a kept draft.

import { $, announce, h, plural } from "./dom.js";
import { command } from "./http.js";
import { refreshUsage } from "./usage.js";

export const MAX_BOXES = 100;
const DRAFT = "add-draft"; // sessionStorage: what was typed survives a new sign-in

// A pasted list: newlines, tabs, commas and semicolons separate numbers; spaces do only in a
// list with none of those, so that "138 0013 8000" on its own line stays one (refused) number.
export function splitNumbers(text) {
  const separators = /[\r\n\t,;]/.test(text) ? /[\r\n\t,;]+/ : /\s+/;
  return text.split(separators).map((part) => part.trim()).filter(Boolean);
}

const boxes = () => [...$("#number-boxes").children];
const inputOf = (box) => box.querySelector("input");
let boxCount = 0;

function addBox(after = null, value = "") {
  const box = $("#number-box").content.firstElementChild.cloneNode(true);
  const [input, error] = [inputOf(box), box.querySelector(".error")];
  input.id = `number-${++boxCount}`;
  input.value = value;
  error.id = `${input.id}-error`;
  box.querySelector("label").htmlFor = input.id;
  input.setAttribute("aria-describedby", error.id);
  input.addEventListener("paste", onPaste);
  input.addEventListener("keydown", onEnter);
  box.querySelector("button").onclick = () => removeBox(box);
  if (after) after.after(box);
  else $("#number-boxes").append(box);
  renumberBoxes();
  return input;
}

function removeBox(box) {
  const next = box.nextElementSibling ?? box.previousElementSibling;
  box.remove();
  renumberBoxes();
  inputOf(next).focus();
  saveDraft();
}

function renumberBoxes() {
  const all = boxes();
  all.forEach((box, index) => {
    box.querySelector("label span").textContent = index + 1;
    box.querySelector("button").setAttribute("aria-label", `Remove caller number ${index + 1}`);
    box.querySelector("button").disabled = all.length === 1;
  });
  $("#add-box").disabled = all.length >= MAX_BOXES;
}

function setBoxes(numbers) {
  $("#number-boxes").replaceChildren();
  for (const number of numbers.length ? numbers : [""]) addBox(null, number);
}

function onPaste(event) {
  const parts = splitNumbers(event.clipboardData.getData("text"));
  if (parts.length < 2) return; // one number pastes as usual
  event.preventDefault();
  const box = event.target.closest("li");
  const room = MAX_BOXES - boxes().length + (inputOf(box).value.trim() ? 0 : 1);
  const placed = parts.slice(0, room);
  let last = box;
  placed.forEach((number, index) => {
    if (index === 0 && !inputOf(box).value.trim()) inputOf(box).value = number;
    else last = addBox(last, number).closest("li");
  });
  inputOf(last).focus();
  const left = parts.slice(placed.length);
  let message = `Pasted ${plural(placed.length, "number")} into ${plural(placed.length, "box", "boxes")}.`;
  if (left.length) {
    const shown = left.slice(0, 5).join(", ") + (left.length > 5 ? ", …" : "");
    message += ` ${plural(left.length, "number")} left over, as one Save takes at most ` +
      `${MAX_BOXES}: ${shown}. Save these first, then paste the rest.`;
  }
  $("#paste-status").textContent = message;
  saveDraft();
}

// Enter moves to the next box (a new one at the end) instead of submitting the form.
function onEnter(event) {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const box = event.target.closest("li");
  if (box.nextElementSibling) return inputOf(box.nextElementSibling).focus();
  if (boxes().length >= MAX_BOXES) {
    $("#paste-status").textContent = `At most ${MAX_BOXES} numbers in one Save.`;
    return;
  }
  addBox(box).focus();
}

// ---- the text mode: up to 100 numbers in one text area ----

const textMode = () => !$("#text-mode").hidden;

function countText() {
  const count = splitNumbers($("#bulk-text").value).length;
  const over = count > MAX_BOXES ? `: ${count - MAX_BOXES} over the limit of ${MAX_BOXES}` : "";
  $("#bulk-count").textContent = plural(count, "number") + over;
}

// Back to boxes, one per number; false (and why) if there are more than the limit.
function textToBoxes() {
  const numbers = splitNumbers($("#bulk-text").value);
  if (numbers.length > MAX_BOXES) {
    $("#add-error").textContent = `${numbers.length} numbers: one Save takes at most ` +
      `${MAX_BOXES}. Remove ${numbers.length - MAX_BOXES} first.`;
    $("#bulk-text").focus();
    return false;
  }
  setBoxes(numbers);
  showMode(false);
  return true;
}

function showMode(text) {
  $("#text-mode").hidden = !text;
  $("#boxes-mode").hidden = text;
  $("#mode-switch").setAttribute("aria-pressed", String(text));
  $("#mode-switch").textContent = text ? "Back to boxes" : "Type as text";
}

function switchMode() {
  $("#add-error").textContent = "";
  if (textMode()) {
    if (textToBoxes()) inputOf(boxes()[0]).focus();
    return;
  }
  $("#bulk-text").value = boxes().map((box) => inputOf(box).value.trim()).filter(Boolean)
    .join("\n");
  countText();
  showMode(true);
  $("#bulk-text").focus();
}

// ---- saving ----

function markBox(box, message) {
  inputOf(box).setAttribute("aria-invalid", message ? "true" : "false");
  box.querySelector(".error").textContent = message ?? "";
}

export async function saveNumbers(event) {
  event.preventDefault();
  $("#add-error").textContent = $("#add-status").textContent = $("#paste-status").textContent = "";
  if (textMode() && !textToBoxes()) return;
  for (const box of boxes()) if (!inputOf(box).value.trim() && boxes().length > 1) box.remove();
  renumberBoxes();
  const all = boxes();
  all.forEach((box) => markBox(box, null));
  if (!inputOf(all[0]).value.trim()) {
    markBox(all[0], "Type a number first.");
    inputOf(all[0]).focus();
    return;
  }
  const body = {
    numbers: all.map((box) => inputOf(box).value),
    org_unit_id: $("#add-ou").value || null,
    description: $("#add-description").value,
  };
  let outcome;
  try {
    outcome = await command("/caller-numbers", "POST", body);
  } catch (error) {
    if (error.code !== "feature_disabled" && error.status !== 401) {
      $("#add-error").textContent = error.message;
    }
    return;
  }
  if (outcome.status === "pending") {
    summarize("Submitted; the outcome is not known yet. See the list later.");
    return;
  }
  showOutcome(all, outcome.results);
  refreshUsage();
}

// Boxes whose number was added go; the others stay with their reason.
function showOutcome(all, results) {
  const added = [];
  let firstFailed = null;
  results.forEach((result, index) => {
    if (result.status === "created") {
      added.push(result.number);
      all[index].remove();
    } else {
      markBox(all[index], result.message);
      firstFailed ??= all[index];
    }
  });
  if (!boxes().length) addBox();
  renumberBoxes();
  saveDraft();
  const failed = results.length - added.length;
  const summary = `${added.length} added, ${failed} not added.` +
    (failed ? " Those not added stay in their boxes, with the reason." : "");
  summarize(summary, firstFailed);
  if (added.length) $("#add-status").append(h("p", {}, `Added: ${added.join(", ")}`));
}

// The summary is announced (aria-live); the keyboard goes to the first box to fix, if any.
function summarize(text, box = null) {
  const status = $("#add-status");
  status.replaceChildren(h("p", {}, text));
  if (box) inputOf(box).focus();
  else status.focus();
}

// ---- the draft: numbers, OU and description survive an expired session and a reload ----

export function saveDraft() {
  const numbers = textMode()
    ? splitNumbers($("#bulk-text").value)
    : boxes().map((box) => inputOf(box).value);
  const draft = {
    numbers,
    org_unit_id: $("#add-ou").value,
    description: $("#add-description").value,
  };
  sessionStorage.setItem(DRAFT, JSON.stringify(draft));
}

export function clearDraft() {
  sessionStorage.removeItem(DRAFT);
  setBoxes([]);
  $("#add-description").value = "";
  countDescription();
}

// After sign-in (the OU list is filled): put back what was typed, and say if the chosen OU
// is not one this user may choose, rather than silently falling back to another.
export function restoreDraft() {
  const draft = JSON.parse(sessionStorage.getItem(DRAFT) ?? "null");
  if (!draft) return;
  if (boxes().every((box) => !inputOf(box).value)) setBoxes(draft.numbers.slice(0, MAX_BOXES));
  if (!$("#add-description").value) $("#add-description").value = draft.description;
  countDescription();
  const select = $("#add-ou");
  if ([...select.options].some((option) => option.value === draft.org_unit_id)) {
    select.value = draft.org_unit_id;
  } else {
    $("#add-error").textContent = "The organization unit chosen before is not one you may " +
      "choose now; choose one again.";
  }
}

function countDescription() {
  const length = $("#add-description").value.length;
  $("#add-description-count").textContent = `${length} of 255 characters`;
}

export function installAddForm() {
  $("#add-box").onclick = () => addBox(boxes().at(-1)).focus();
  $("#mode-switch").onclick = switchMode;
  $("#bulk-text").oninput = countText;
  $("#add-description").addEventListener("input", countDescription);
  $("#add-form").addEventListener("input", saveDraft);
  $("#add-form").addEventListener("change", saveDraft);
  setBoxes([]);
}
