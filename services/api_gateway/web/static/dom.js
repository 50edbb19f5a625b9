// Small DOM helpers shared by the page's modules.

import { state } from "./state.js";

export const $ = (selector) => document.querySelector(selector);

export function h(tag, props = {}, ...children) {
  const element = Object.assign(document.createElement(tag), props);
  element.append(...children);
  return element;
}

export function writeButton(text, label, onclick) {
  const button = h("button", { type: "button", textContent: text, onclick });
  button.disabled = !state.writable;
  button.setAttribute("aria-label", label);
  button.dataset.write = "";
  return button;
}

// A table cell that names its column, so that narrow screens can show rows as cards.
// Several children share one box, so that the card's label stays beside them.
export function cell(label, ...children) {
  const td = h("td", {}, ...(children.length > 1 ? [h("div", {}, ...children)] : children));
  td.dataset.label = label;
  return td;
}

export const time = (iso) =>
  iso ? h("time", { dateTime: iso }, new Date(iso).toLocaleString()) : "";

export const unitName = (id) =>
  id === null ? "Unorganized" : state.units.find((unit) => unit.id === id)?.name ?? id;

export const plural = (count, one, many = `${one}s`) =>
  `${count.toLocaleString()} ${count === 1 ? one : many}`;

// Say something in a status region and put the keyboard there, so that it is heard and
// the next Tab continues from where the action happened.
export function announce(element, text) {
  element.textContent = text;
  element.focus();
}

// The form's write button waits with the request, so that a double click sends nothing twice.
export async function busy(form, work) {
  const button = form.querySelector("[data-write]");
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = !state.writable;
  }
}

// One confirmation dialog for every destructive action; resolves true on "yes".
export function confirmAction({ title, text, yes, no = "Cancel" }) {
  const dialog = $("#confirm-dialog");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-yes").textContent = yes;
  $("#confirm-no").textContent = no;
  dialog.returnValue = "";
  dialog.showModal();
  $("#confirm-no").focus(); // the safe choice first
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
  });
}
