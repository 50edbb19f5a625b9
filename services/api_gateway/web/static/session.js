// The session: the token's claims, a warning before it expires, and a fresh token pasted in
// place (the page and what was typed stay as they are).

import { $ } from "./dom.js";
import { api } from "./http.js";
import { state } from "./state.js";

export const WARN_BEFORE_MS = 5 * 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit (about 24 days)
const timers = [];

// The payload, for display and the expiry only: the gateway checks the signature.
export function claims(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return payload && typeof payload === "object" ? payload : null;
  } catch {
    return null;
  }
}

// Why a pasted text cannot be used as a token, or null if it might be one.
export function tokenProblem(token) {
  const payload = claims(token);
  if (!token) return "Paste a token first.";
  if (!payload) return "That is not a token: a JWT has three parts separated by dots.";
  if (payload.exp && payload.exp * 1000 <= Date.now()) {
    return `That token expired at ${new Date(payload.exp * 1000).toLocaleString()}.`;
  }
  return null;
}

export function useToken(token) {
  state.token = token;
  state.claims = claims(token);
  sessionStorage.setItem("token", token);
  watchExpiry();
}

export function stopWatching() {
  timers.splice(0).forEach(clearTimeout);
  $("#session-warning").hidden = true;
}

function at(time, work) {
  timers.push(setTimeout(work, Math.min(Math.max(0, time - Date.now()), MAX_TIMER_MS)));
}

function watchExpiry() {
  stopWatching();
  const exp = state.claims?.exp;
  if (!exp) return;
  const ends = exp * 1000;
  const clock = new Date(ends).toLocaleTimeString();
  at(ends - WARN_BEFORE_MS, () => warn(`Your session ends at ${clock}. Paste a fresh token ` +
    "to go on without losing what you typed."));
  at(ends, () => warn(`Your session ended at ${clock}. Paste a fresh token to go on; ` +
    "what you typed on this page is kept."));
}

function warn(text) {
  $("#session-warning-text").textContent = text;
  $("#session-warning").hidden = false;
}

export function openRenew(message = "") {
  $("#renew-text").textContent = message || "Your work on this page stays as it is.";
  $("#renew-error").textContent = "";
  const dialog = $("#renew-dialog");
  if (!dialog.open) dialog.showModal();
}

// A fresh token for the same tenant replaces the old one; `refresh` re-reads the rights.
async function renew(event, refresh) {
  event.preventDefault();
  const token = $("#renew-token").value.trim();
  const error = $("#renew-error");
  const problem = tokenProblem(token);
  if (problem) {
    error.textContent = problem;
    return;
  }
  let me;
  try {
    me = await api("/me", { token });
  } catch (failure) {
    error.textContent = failure.message;
    return;
  }
  if (me.tenant_id !== state.claims?.tenant_id) {
    error.textContent = `That token is for tenant ${me.tenant_id}; this page works for tenant ` +
      `${state.claims?.tenant_id}. Sign out to change tenants.`;
    return;
  }
  useToken(token);
  $("#renew-token").value = "";
  $("#renew-dialog").close();
  await refresh();
  const until = state.claims.exp ? ` until ${new Date(state.claims.exp * 1000).toLocaleString()}` : "";
  $("#session-status").textContent = `Session renewed${until}.`;
}

export function installSession(refresh) {
  $("#renew-open").onclick = () => openRenew();
  $("#renew-cancel").onclick = () => $("#renew-dialog").close();
  $("#renew-form").onsubmit = (event) => renew(event, refresh);
}
