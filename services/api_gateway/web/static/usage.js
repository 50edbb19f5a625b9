// The tenant's caller numbers, used of allowed (GET /me), shown beside who is signed in.

import { $ } from "./dom.js";
import { api } from "./http.js";

export function showUsage({ used, allowed }) {
  const text = allowed === null
    ? `Caller numbers: ${used.toLocaleString()} (no quota)`
    : `Caller numbers: ${used.toLocaleString()} of ${allowed.toLocaleString()}`;
  const element = $("#usage");
  element.textContent = text;
  element.classList.toggle("full", allowed !== null && used >= allowed);
}

// After a write: the count moved. A failure here is not worth a message: the next one shows it.
export async function refreshUsage() {
  try {
    showUsage((await api("/me")).caller_numbers);
  } catch {
    // the write's own outcome is what the user needs now
  }
}
