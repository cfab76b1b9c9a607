import type { CallInfo, WorkerSummary } from "@stubrun/protocol";
import type { CallRecord } from "../state/calls.repository";

/**
 * What every page of the apps UI shares: the style (readable from a 375px phone up: wide tables
 * scroll in their own box), the HTML frame, and the escaping both the server and the pages'
 * scripts use. Nothing is loaded from anywhere but the page itself.
 */

const STYLE = `
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 80rem; color: #1d2430; }
  h1 { font-size: 1.4rem; overflow-wrap: anywhere; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  .scroll { overflow-x: auto; max-width: 100%; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
  td a { overflow-wrap: anywhere; }
  th { color: #4b5561; font-weight: 600; }
  .state { font-weight: 600; } .state-stopped { color: #6b7480; } .state-deployed, .state-succeeded { color: #126b2f; }
  .state-ephemeral, .state-detached, .state-running, .state-busy { color: #1b5fb4; } .state-failed, .state-timed_out { color: #b3261e; }
  pre { background: #11161d; color: #dfe6ee; padding: 1rem; max-height: 28rem; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
  pre.value { background: #f4f6f8; color: #1d2430; }
  .stderr { color: #ffb4a9; } .system { color: #8fb3ff; }
  button { font: inherit; padding: .35rem .9rem; border: 1px solid #b3261e; color: #b3261e; background: #fff; border-radius: 4px; cursor: pointer; }
  button.plain { border-color: #1b5fb4; color: #1b5fb4; }
  button:disabled { opacity: .4; cursor: default; }
  :focus-visible { outline: 3px solid #1b5fb4; outline-offset: 2px; }
  a { color: #1b5fb4; }
  form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; margin: .5rem 0; }
  .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 1rem; }
  figure { margin: 0; } figcaption { color: #4b5561; font-size: .85rem; }
  svg.chart { width: 100%; height: 3rem; background: #f4f6f8; display: block; }
  svg.chart rect { fill: #1b5fb4; } svg.chart.errors rect { fill: #b3261e; }
`;

/** Escapes text for HTML: the server's pages and their scripts both use this one. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/** A time as the pages show it: UTC, to the second; "-" for none. */
export function shownTime(t: number | string | null | undefined): string {
  return t === null || t === undefined ? "-" : new Date(t).toISOString().replace("T", " ").slice(0, 19);
}

/** A duration in ms as the pages show it. */
export function shownDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}


/**
 * Table rows of an app's page, rendered by the server for the first view and by the page's
 * script on each refresh: the same functions on both sides (their source goes into each page's
 * script), so each uses only the helpers above (in this module, so the compiler leaves their
 * names alone) and its arguments.
 */

/** A row of the recent calls: its id links to the call's page. */
export function callRow(c: CallRecord, appId: string): string {
  const href = "/apps/" + encodeURIComponent(appId) + "/calls/" + encodeURIComponent(c.id);
  return (
    '<tr data-call-id="' + escapeHtml(c.id) + '"><td><a href="' + href + '">' + escapeHtml(c.id) + "</a></td><td>" + escapeHtml(c.functionName) +
    '</td><td class="state state-' + escapeHtml(c.state) + '">' + escapeHtml(c.state) + "</td><td>" + shownTime(c.createdAt) + "</td><td>" +
    shownDuration(c.endedAt === null ? null : c.endedAt - c.createdAt) + "</td><td>" + Math.max(c.attempts, 1) + "</td><td>" + escapeHtml(c.error ?? "") + "</td></tr>"
  );
}

/** A row of the workers table. */
export function workerRow(w: WorkerSummary, now: number): string {
  const up = Math.max(0, now - Date.parse(w.startedAt));
  const memory = w.memoryBytes === null ? "-" : (w.memoryBytes / 1048576).toFixed(1) + " MiB";
  return (
    '<tr data-worker-id="' + escapeHtml(w.id) + '"><td>' + escapeHtml(w.id) + "</td><td>" + escapeHtml(w.functionName) + '</td><td class="state state-' + escapeHtml(w.state) + '">' +
    escapeHtml(w.state) + (w.callId ? " (" + escapeHtml(w.callId) + ")" : "") + "</td><td>" + w.callsServed + "</td><td>" + shownAge(up) + "</td><td>" + memory + "</td></tr>"
  );
}

/** A row of the version history, with a Rollback button on every version but the current one. */
export function versionRow(v: { version: number; createdAt: string; changes: string }, current: number): string {
  const action =
    v.version === current
      ? "current"
      : '<button class="plain rollback" data-version="' + v.version + '" aria-label="Roll back to version ' + v.version + '">Roll back to ' + v.version + "</button>";
  return '<tr data-version="' + v.version + '"><td>' + v.version + "</td><td>" + shownTime(v.createdAt) + "</td><td>" + escapeHtml(v.changes) + "</td><td>" + action + "</td></tr>";
}


/** The outcome section's title; runs in the page's script too. */
export function outcomeTitle(info: CallInfo): string {
  return info.state === "running" ? "Result" : info.state === "succeeded" ? "Result" : "Error";
}

/** The result or the error (with its remote stack), or why neither can be shown; runs in the page's script too. */
export function outcomeHtml(info: CallInfo, display: { result: string | null; error: string | null }): string {
  if (info.state === "running") return '<p id="result-pending">The call is running: its result shows here when it ends.</p>';
  const unavailable = info.unavailable ? '<p class="unavailable">' + escapeHtml(info.unavailable) + "</p>" : "";
  if (info.state === "succeeded") return unavailable + (display.result === null ? "" : '<pre class="value" id="result" tabindex="0">' + escapeHtml(display.result) + "</pre>");
  return unavailable + (display.error === null ? "" : '<pre class="value" id="error" tabindex="0">' + escapeHtml(display.error) + "</pre>");
}

/** How long something has been up, as the pages show it. */
export function shownAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

/** The helpers and rows of this module, for a page's own script: the same code runs on both sides. */
const PAGE_HELPERS = [escapeHtml, shownTime, shownDuration, shownAge, callRow, workerRow, versionRow, outcomeTitle, outcomeHtml].map((f) => f.toString()).join("\n");

/** A whole page: its title, its body, and its script (run once the body is there). */
/**
 * The page script that appends the log lines of `SOURCE/logs?follow=1` to `#logs` as they come
 * (the app's page and a call's page); `source` names a script variable holding the API path.
 */
export function followLogsScript(source: string): string {
  return `const logs = document.getElementById("logs");
const events = new EventSource(${source} + "/logs?follow=1");
events.addEventListener("log", (e) => {
  const entry = JSON.parse(e.data);
  const span = document.createElement("span");
  span.className = entry.stream;
  span.textContent = entry.stream === "system" ? "[stubrun] " + entry.data : entry.data;
  logs.appendChild(span);
  logs.scrollTop = logs.scrollHeight;
});
events.addEventListener("end", () => events.close());`;
}

export function page(title: string, body: string, script: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main><script>${PAGE_HELPERS}\n${script}</script></body></html>`;
}
