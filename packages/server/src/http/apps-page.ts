import type { AppSummary, FunctionManifest, NodeSummary, NodesSummary } from "@stubrun/protocol";
import type { CallRecord } from "../state/calls.repository";

/**
 * The apps page (`/apps`) and an app's page (`/apps/ID`): plain HTML rendered here, with a small
 * script that keeps the list fresh, follows the app's logs live (server-sent events from the
 * apps API) and stops the app with the button.
 */

const STYLE = `
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2430; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6ea; }
  th { color: #5b6470; font-weight: 600; }
  .state { font-weight: 600; } .state-stopped { color: #8a939e; } .state-deployed { color: #126b2f; }
  .state-ephemeral, .state-detached { color: #1b5fb4; } .state-failed, .state-timed_out { color: #b3261e; }
  pre#logs { background: #11161d; color: #dfe6ee; padding: 1rem; max-height: 28rem; overflow: auto; white-space: pre-wrap; }
  .stderr { color: #ffb4a9; } .system { color: #8fb3ff; }
  button { font: inherit; padding: .35rem .9rem; border: 1px solid #b3261e; color: #b3261e; background: #fff; border-radius: 4px; cursor: pointer; }
  button:disabled { opacity: .4; cursor: default; }
  a { color: #1b5fb4; }
`;

export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

function page(title: string, body: string, script: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}<script>${script}</script></body></html>`;
}

function time(ms: number | string | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

function appRow(app: AppSummary): string {
  return `<tr data-app-id="${escapeHtml(app.id)}"><td><a href="/apps/${encodeURIComponent(app.id)}">${escapeHtml(app.name ?? app.id)}</a></td><td>${escapeHtml(app.id)}</td><td class="state state-${escapeHtml(app.state)}">${escapeHtml(app.state)}</td><td>${app.version}</td><td>${time(app.createdAt)}</td><td>${app.runningTasks}</td></tr>`;
}

/** The states the list's filter offers. */
const STATES = ["ephemeral", "detached", "deployed", "failed", "stopped"];

/**
 * `/apps`: the apps that run first, the stopped ones in a section of their own (each newest
 * first), a filter by name and state, and both tables refreshed every 2 s without a reload.
 */
export function renderAppsPage(apps: AppSummary[], nodes?: NodesSummary): string {
  const queue = nodes?.queue === true;
  const nodesTable = queue
    ? `
<h2>Worker nodes</h2>
<table><thead><tr><th>Node</th><th>Slots</th><th>Running calls</th><th>Connected since</th></tr></thead>
<tbody id="nodes">${nodes.nodes.map(nodeRow).join("") || NO_NODES_ROW}</tbody></table>`
    : "";
  const head = "<thead><tr><th>Name</th><th>App ID</th><th>State</th><th>Version</th><th>Created</th><th>Running tasks</th></tr></thead>";
  const running = apps.filter((a) => a.state !== "stopped");
  const stopped = apps.filter((a) => a.state === "stopped");
  const body = `<h1>stubrun apps</h1>
<form id="filter" role="search" onsubmit="return false">
<label>Name <input id="filter-name" type="search" autocomplete="off"></label>
<label>State <select id="filter-state"><option value="">any</option>${STATES.map((st) => `<option>${st}</option>`).join("")}</select></label>
</form>
<h2>Running</h2>
<table>${head}<tbody id="apps">${running.map(appRow).join("") || NO_RUNNING_ROW}</tbody></table>
<h2>Stopped</h2>
<table>${head}<tbody id="stopped-apps">${stopped.map(appRow).join("") || NO_STOPPED_ROW}</tbody></table>${nodesTable}`;
  const script = `
const esc = (t) => String(t).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const time = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) : "-");
const row = (a) => '<tr data-app-id="' + esc(a.id) + '"><td><a href="/apps/' + encodeURIComponent(a.id) + '">' + esc(a.name ?? a.id) + '</a></td><td>' + esc(a.id) +
  '</td><td class="state state-' + esc(a.state) + '">' + esc(a.state) + '</td><td>' + a.version + '</td><td>' + time(a.createdAt) + '</td><td>' + a.runningTasks + '</td></tr>';
const nameFilter = document.getElementById("filter-name");
const stateFilter = document.getElementById("filter-state");
let latest = null;
function show() {
  if (!latest) return;
  const name = nameFilter.value.trim().toLowerCase();
  const state = stateFilter.value;
  const shown = latest.filter((a) => (!name || (a.name ?? "").toLowerCase().includes(name) || a.id.toLowerCase().includes(name)) && (!state || a.state === state));
  document.getElementById("apps").innerHTML = shown.filter((a) => a.state !== "stopped").map(row).join("") || ${JSON.stringify(NO_RUNNING_ROW)};
  document.getElementById("stopped-apps").innerHTML = shown.filter((a) => a.state === "stopped").map(row).join("") || ${JSON.stringify(NO_STOPPED_ROW)};
}
nameFilter.addEventListener("input", show);
stateFilter.addEventListener("change", show);
async function refresh() {
  latest = await (await fetch("/api/apps")).json();
  show();${
      queue
        ? `
  const { nodes } = await (await fetch("/api/nodes")).json();
  document.getElementById("nodes").innerHTML = nodes.map((n) =>
    '<tr data-node-id="' + esc(n.nodeId) + '"><td>' + esc(n.nodeId) + '</td><td>' + n.slots + '</td><td>' + (n.running.map(esc).join(", ") || "-") + '</td><td>' + time(n.connectedAt) + '</td></tr>').join("") || ${JSON.stringify(NO_NODES_ROW)};`
        : ""
    }
}
void refresh();
setInterval(refresh, 2000);`;
  return page("stubrun apps", body, script);
}

const NO_RUNNING_ROW = '<tr><td colspan="6">No app is running: run one with npx stubrun FILE</td></tr>';
const NO_STOPPED_ROW = '<tr><td colspan="6">No stopped app</td></tr>';

const NO_NODES_ROW = '<tr><td colspan="4">No worker node is connected: calls wait until one is (npx stubrun worker --server URL --queue redis://HOST:PORT)</td></tr>';

/** A worker node's row on the apps page. */
function nodeRow(n: NodeSummary): string {
  return `<tr data-node-id="${escapeHtml(n.nodeId)}"><td>${escapeHtml(n.nodeId)}</td><td>${n.slots}</td><td>${escapeHtml(n.running.join(", ") || "-")}</td><td>${time(Date.parse(n.connectedAt))}</td></tr>`;
}

/** `/apps/ID`: the app's functions, recent calls, logs followed live, and a stop button. */
export function renderAppPage(app: AppSummary, functions: FunctionManifest[], calls: CallRecord[], webBase: string): string {
  const fnRows = functions
    .map((f) => {
      const schedule = f.options.schedule ? (f.options.schedule.kind === "cron" ? `cron ${f.options.schedule.expression} (${f.options.schedule.timezone})` : `every ${f.options.schedule.seconds} s`) : "";
      const web = f.kind === "webEndpoint" ? `${f.webMethod ?? "GET"} <a href="${escapeHtml(`${webBase}/${f.name}`)}">${escapeHtml(`${webBase}/${f.name}`)}</a>` : "";
      return `<tr><td>${escapeHtml(f.name)}</td><td>${escapeHtml(f.params.map((p) => `${p.name}: ${p.type}`).join(", "))}</td><td>${escapeHtml(schedule)}</td><td>${web}</td></tr>`;
    })
    .join("");
  const callRows = calls
    .map((c) => `<tr><td>${escapeHtml(c.id)}</td><td>${escapeHtml(c.functionName)}</td><td class="state state-${escapeHtml(c.state)}">${escapeHtml(c.state)}</td><td>${time(c.createdAt)}</td><td>${c.endedAt === null ? "-" : `${c.endedAt - c.createdAt} ms`}</td><td>${escapeHtml(c.error ?? "")}</td></tr>`)
    .join("");
  const stoppable = app.state !== "stopped";
  const body = `<p><a href="/apps">&larr; all apps</a></p>
<h1>${escapeHtml(app.name ?? app.id)}</h1>
<p>App <code>${escapeHtml(app.id)}</code>, state <span id="state" class="state state-${escapeHtml(app.state)}">${escapeHtml(app.state)}</span>, version ${app.version}, created ${time(app.createdAt)}, <span id="tasks">${app.runningTasks}</span> running tasks.
<button id="stop" ${stoppable ? "" : "disabled"}>Stop app</button> <button id="delete">Delete app</button></p>
<h2>Functions</h2>
<table><thead><tr><th>Function</th><th>Parameters</th><th>Schedule</th><th>Web endpoint</th></tr></thead><tbody>${fnRows}</tbody></table>
<h2>Recent calls</h2>
<table><thead><tr><th>Call</th><th>Function</th><th>State</th><th>Started</th><th>Took</th><th>Error</th></tr></thead><tbody id="calls">${callRows || '<tr><td colspan="6">No calls yet</td></tr>'}</tbody></table>
<h2>Logs</h2>
<pre id="logs"></pre>`;
  const api = `/api/apps/${encodeURIComponent(app.id)}`;
  const script = `
const logs = document.getElementById("logs");
const events = new EventSource(${JSON.stringify(`${api}/logs?follow=1`)});
events.addEventListener("log", (e) => {
  const entry = JSON.parse(e.data);
  const span = document.createElement("span");
  span.className = entry.stream;
  span.textContent = entry.stream === "system" ? "[stubrun] " + entry.data : entry.data;
  logs.appendChild(span);
  logs.scrollTop = logs.scrollHeight;
});
events.addEventListener("end", () => events.close());
const stop = document.getElementById("stop");
stop.addEventListener("click", async () => {
  if (!confirm("Stop this app? Its running calls are cancelled.")) return;
  stop.disabled = true;
  await fetch(${JSON.stringify(`${api}/stop`)}, { method: "POST" });
  refresh();
});
const del = document.getElementById("delete");
del.addEventListener("click", async () => {
  if (!confirm("Delete this app? It is stopped first; its versions, calls and logs are removed for good.")) return;
  del.disabled = true;
  const res = await fetch(${JSON.stringify(api)}, { method: "DELETE" });
  if (!res.ok) { del.disabled = false; alert((await res.json()).error); return; }
  clearInterval(timer);
  events.close();
  document.body.innerHTML = '<p><a href="/apps">&larr; all apps</a></p><h1>App deleted</h1><p id="deleted">App <code>' + esc(${JSON.stringify(app.id)}) + "</code> was deleted, with its versions, calls and logs.</p>";
});
const esc = (t) => String(t).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const time = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) : "-");
async function refresh() {
  const calls = await (await fetch(${JSON.stringify(`${api}/calls`)})).json();
  if (calls.length) document.getElementById("calls").innerHTML = calls.map((c) =>
    "<tr><td>" + esc(c.id) + "</td><td>" + esc(c.functionName) + '</td><td class="state state-' + esc(c.state) + '">' + esc(c.state) + "</td><td>" +
    time(c.createdAt) + "</td><td>" + (c.endedAt === null ? "-" : c.endedAt - c.createdAt + " ms") + "</td><td>" + esc(c.error ?? "") + "</td></tr>").join("");
  const app = await (await fetch(${JSON.stringify(api)})).json();
  const state = document.getElementById("state");
  state.textContent = app.state;
  state.className = "state state-" + app.state;
  document.getElementById("tasks").textContent = app.runningTasks;
  if (app.state === "stopped") stop.disabled = true;
}
const timer = setInterval(refresh, 2000);`;
  return page(`${app.name ?? app.id} - stubrun`, body, script);
}

/** `/apps/APP` for an app that is not there: deleted (with its history), or never made. */
export function renderMissingAppPage(ref: string): string {
  const body = `<p><a href="/apps">&larr; all apps</a></p>
<h1>No such app</h1>
<p id="missing">There is no app with id or name <code>${escapeHtml(ref)}</code>: it was deleted, with its versions, calls and logs, or it never existed.</p>`;
  return page("No such app - stubrun", body, "");
}
