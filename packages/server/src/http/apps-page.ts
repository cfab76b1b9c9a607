import type { AppSummary, NodeSummary, NodesSummary } from "@stubrun/protocol";
import { escapeHtml, page, shownTime } from "./page-layout";

export { escapeHtml };

/**
 * The apps page (`/apps`): plain HTML rendered here, with a small script that keeps the list
 * fresh. An app's page is `app-page.ts`, a call's `call-page.ts`.
 */

/** The list's time column (the layout's, under the name this file's rows use). */
const time = shownTime;

function appRow(app: AppSummary): string {
  return `<tr data-app-id="${escapeHtml(app.id)}"><td><a href="/apps/${encodeURIComponent(app.id)}">${escapeHtml(app.name ?? app.id)}</a>${app.env && app.env !== "main" ? ` <small class="env">${escapeHtml(app.env)}</small>` : ""}</td><td>${escapeHtml(app.id)}</td><td class="state state-${escapeHtml(app.state)}">${escapeHtml(app.state)}</td><td>${app.version}</td><td>${time(app.createdAt)}</td><td>${app.runningTasks}</td></tr>`;
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
<div class="scroll"><table><thead><tr><th>Node</th><th>Slots</th><th>Running calls</th><th>Connected since</th></tr></thead>
<tbody id="nodes">${nodes.nodes.map(nodeRow).join("") || NO_NODES_ROW}</tbody></table></div>`
    : "";
  const head = "<thead><tr><th>Name</th><th>App ID</th><th>State</th><th>Version</th><th>Created</th><th>Running tasks</th></tr></thead>";
  const running = apps.filter((a) => a.state !== "stopped");
  const stopped = apps.filter((a) => a.state === "stopped");
  const body = `<h1>stubrun apps</h1>
<form id="filter" class="filters" role="search" onsubmit="return false">
<label>Name <input id="filter-name" type="search" autocomplete="off"></label>
<label>State <select id="filter-state"><option value="">any</option>${STATES.map((st) => `<option>${st}</option>`).join("")}</select></label>
</form>
<h2>Running</h2>
<div class="scroll"><table>${head}<tbody id="apps">${running.map(appRow).join("") || NO_RUNNING_ROW}</tbody></table></div>
<h2>Stopped</h2>
<div class="scroll"><table>${head}<tbody id="stopped-apps">${stopped.map(appRow).join("") || NO_STOPPED_ROW}</tbody></table></div>${nodesTable}`;
  const script = `
const esc = (t) => String(t).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const time = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) : "-");
const row = (a) => '<tr data-app-id="' + esc(a.id) + '"><td><a href="/apps/' + encodeURIComponent(a.id) + '">' + esc(a.name ?? a.id) + '</a>' + (a.env && a.env !== 'main' ? ' <small class="env">' + esc(a.env) + '</small>' : '') + '</td><td>' + esc(a.id) +
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

/** `/apps/APP` for an app that is not there: deleted (with its history), or never made. */
export function renderMissingAppPage(ref: string): string {
  const body = `<p><a href="/apps">&larr; all apps</a></p>
<h1>No such app</h1>
<p id="missing">There is no app with id or name <code>${escapeHtml(ref)}</code>: it was deleted, with its versions, calls and logs, or it never existed.</p>`;
  return page("No such app - stubrun", body, "");
}
