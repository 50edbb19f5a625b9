// The HTTP API: requests with the bearer token, commands and their outcomes, downloads.

import { h } from "./dom.js";
import { state } from "./state.js";

const API = "/api/v1";
const hooks = { unauthorized: () => {}, featureDisabled: () => {} };

// app.js says what a 401 (the session ended) and a feature_disabled refusal do.
export const onUnauthorized = (hook) => { hooks.unauthorized = hook; };
export const onFeatureDisabled = (hook) => { hooks.featureDisabled = hook; };

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    const detail = Array.isArray(error.details) ? error.details[0]?.message : null;
    super([error.message ?? `The server answered ${status}.`, detail].filter(Boolean).join(" "));
    Object.assign(this, { status, code: error.code, details: error.details });
  }
}

export async function request(path, { method = "GET", json, form, wait, token } = {}) {
  const headers = { Authorization: `Bearer ${token ?? state.token}` };
  let body = form;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (wait) headers.Prefer = `wait=${wait}`;
  const response = await fetch(API + path, { method, headers, body });
  if (response.ok) return response;
  const error = new ApiError(response.status, await response.json().catch(() => null));
  if (error.code === "feature_disabled") hooks.featureDisabled(error.message);
  if (response.status === 401 && token === undefined) hooks.unauthorized(error.message);
  throw error;
}

export const api = async (path, options) => (await request(path, options)).json();

// A write is a command: wait for its outcome, and poll for it if the gateway answered 202.
export async function command(path, method, json) {
  let outcome = await api(path, { method, json, wait: 10 });
  for (let tries = 0; outcome.status === "pending" && tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    outcome = await api(`/commands/${outcome.command_id}`);
  }
  for (const result of outcome.results) {
    if (result.reason === "feature_disabled") hooks.featureDisabled(result.message);
  }
  return outcome;
}

// Downloads need the bearer token, so a plain link cannot do: fetch, then save the blob.
export async function download(path, fallbackName) {
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
