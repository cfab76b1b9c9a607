import type { AppSummary, FunctionManifest, WorkerSummary } from "@stubrun/protocol";
import { CALL_STATES, type CallRecord } from "../state/calls.repository";
import { CHART_SCRIPT } from "./chart-script";
import { callRow, escapeHtml, followLogsScript, page, shownTime, versionRow, workerRow } from "./page-layout";

/** What an app's page shows. */
export interface AppPageData {
  app: AppSummary;
  functions: FunctionManifest[];
  calls: CallRecord[];
  /** `SERVER_URL/web/APP`: where its web endpoints answer. */
  webBase: string;
  /** When each scheduled function runs next, by name (only while the app is deployed and running). */
  nextRuns: Map<string, number>;
  /** Its workers; undefined when the dispatcher cannot say (queue mode: they run on the nodes). */
  workers: WorkerSummary[] | undefined;
  /** A deployed app's versions, oldest first; empty for other apps. */
  versions: { version: number; createdAt: string; changes: string }[];
}

const NO_CALLS = '<tr><td colspan="7">No calls yet</td></tr>';
const NO_MATCHING_CALLS = '<tr><td colspan="7">No calls match the filter</td></tr>';
const NO_WORKERS = '<tr><td colspan="6">No workers: they start with the first call (or keepWarm) and leave when idle</td></tr>';

/**
 * `/apps/APP`: the app's functions (kind, memory and cpu, web endpoint URL, next scheduled run), its workers,
 * per-function figures over the last hour as SVG charts, its version history with Rollback
 * buttons, recent calls filtered by function and state (each linking to the call's page), its
 * logs followed live, and Stop and Delete buttons. The script refreshes it every 2 s.
 */
export function renderAppPage(data: AppPageData): string {
  const { app, functions, calls, webBase, nextRuns, workers, versions } = data;
  const fnRows = functions.map((f) => functionRow(f, webBase, nextRuns.get(f.name))).join("");
  const now = Date.now();
  const stoppable = app.state !== "stopped";
  const workersSection =
    workers === undefined
      ? "<p>Workers run on the worker nodes: see the nodes on the apps list.</p>"
      : `<div class="scroll"><table><thead><tr><th>Worker</th><th>Function</th><th>State</th><th>Calls served</th><th>Up</th><th>Memory</th></tr></thead><tbody id="workers">${workers.map((w) => workerRow(w, now)).join("") || NO_WORKERS}</tbody></table></div>`;
  const historySection =
    versions.length === 0
      ? ""
      : `<section aria-labelledby="versions-title"><h2 id="versions-title">Versions</h2>
<p id="rollback-result" role="status"></p>
<div class="scroll"><table><thead><tr><th>Version</th><th>Deployed</th><th>What changed</th><th>Rollback</th></tr></thead><tbody id="versions">${[...versions]
          .reverse()
          .map((v) => versionRow(v, app.version))
          .join("")}</tbody></table></div></section>`;
  const body = `<nav><a href="/apps">&larr; all apps</a></nav>
<h1>${escapeHtml(app.name ?? app.id)}</h1>
<p>App <code>${escapeHtml(app.id)}</code>, state <span id="state" class="state state-${escapeHtml(app.state)}">${escapeHtml(app.state)}</span>, version <span id="version">${app.version}</span>, created ${shownTime(app.createdAt)}, <span id="tasks">${app.runningTasks}</span> running tasks.</p>
<p><button id="stop" ${stoppable ? "" : "disabled"}>Stop app</button> <button id="delete">Delete app</button></p>
<section aria-labelledby="functions-title"><h2 id="functions-title">Functions</h2>
<div class="scroll"><table id="functions"><thead><tr><th>Function</th><th>Kind</th><th>Parameters</th><th>Resources</th><th>Details</th></tr></thead><tbody>${fnRows}</tbody></table></div></section>
<section aria-labelledby="workers-title"><h2 id="workers-title">Workers</h2>${workersSection}</section>
<section aria-labelledby="figures-title"><h2 id="figures-title">Last hour</h2><div id="figures"><p>Loading figures…</p></div></section>
${historySection}
<section aria-labelledby="calls-title"><h2 id="calls-title">Recent calls</h2>
<form class="filters" id="call-filters" role="search" onsubmit="return false">
<label for="call-function">Function</label> <select id="call-function"><option value="">any</option>${functions.map((f) => `<option>${escapeHtml(f.name)}</option>`).join("")}</select>
<label for="call-state">State</label> <select id="call-state"><option value="">any</option>${CALL_STATES.map((s) => `<option>${s}</option>`).join("")}</select>
</form>
<div class="scroll"><table><thead><tr><th>Call</th><th>Function</th><th>State</th><th>Started</th><th>Duration</th><th>Attempts</th><th>Error</th></tr></thead><tbody id="calls">${calls.map((c) => callRow(c, app.id)).join("") || NO_CALLS}</tbody></table></div></section>
<section aria-labelledby="logs-title"><h2 id="logs-title">Logs</h2>
<pre id="logs" tabindex="0" aria-label="The app's logs, followed live"></pre></section>`;
  const api = `/api/apps/${encodeURIComponent(app.id)}`;
  const script = `${CHART_SCRIPT}
const appId = ${JSON.stringify(app.id)};
const api = ${JSON.stringify(api)};
async function getJson(url, init) {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || "HTTP " + res.status);
  return body;
}
${followLogsScript("api")}
const stop = document.getElementById("stop");
stop.addEventListener("click", async () => {
  if (!confirm("Stop this app? Its running calls are cancelled.")) return;
  stop.disabled = true;
  await fetch(api + "/stop", { method: "POST" });
  refresh();
});
const del = document.getElementById("delete");
del.addEventListener("click", async () => {
  if (!confirm("Delete this app? It is stopped first; its versions, calls and logs are removed for good.")) return;
  del.disabled = true;
  const res = await fetch(api, { method: "DELETE" });
  if (!res.ok) { del.disabled = false; alert((await res.json()).error); return; }
  clearInterval(timer);
  events.close();
  document.querySelector("main").innerHTML = '<nav><a href="/apps">&larr; all apps</a></nav><h1>App deleted</h1><p id="deleted">App <code>' + escapeHtml(appId) + "</code> was deleted, with its versions, calls and logs.</p>";
});
const callFunction = document.getElementById("call-function");
const callState = document.getElementById("call-state");
async function refreshCalls() {
  const query = new URLSearchParams();
  if (callFunction.value) query.set("function", callFunction.value);
  if (callState.value) query.set("state", callState.value);
  const calls = await getJson(api + "/calls?" + query);
  document.getElementById("calls").innerHTML = calls.map((c) => callRow(c, appId)).join("") ||
    (callFunction.value || callState.value ? ${JSON.stringify(NO_MATCHING_CALLS)} : ${JSON.stringify(NO_CALLS)});
}
callFunction.addEventListener("change", () => void refreshCalls().catch(() => {}));
callState.addEventListener("change", () => void refreshCalls().catch(() => {}));
async function refreshHistory() {
  const body = document.getElementById("versions");
  if (!body) return;
  const history = await getJson(api + "/history");
  body.innerHTML = history.versions.slice().reverse().map((v) => versionRow(v, history.app.version)).join("");
}
document.getElementById("versions")?.addEventListener("click", async (event) => {
  const button = event.target.closest("button.rollback");
  if (!button) return;
  const version = button.dataset.version;
  if (!confirm("Roll back to version " + version + "? Its code is deployed again as a new version.")) return;
  button.disabled = true;
  const status = document.getElementById("rollback-result");
  try {
    const result = await getJson(api + "/rollback?version=" + encodeURIComponent(version), { method: "POST" });
    status.textContent = "Rolled back: now version " + result.version + " (" + result.changes + ")";
    document.getElementById("version").textContent = result.version;
    await refreshHistory();
  } catch (error) {
    button.disabled = false;
    status.textContent = "Rollback failed: " + error.message;
  }
});
async function refresh() {
  const app = await getJson(api);
  const state = document.getElementById("state");
  state.textContent = app.state;
  state.className = "state state-" + app.state;
  document.getElementById("tasks").textContent = app.runningTasks;
  document.getElementById("version").textContent = app.version;
  if (app.state === "stopped") stop.disabled = true;
  await refreshCalls();
  const workers = document.getElementById("workers");
  if (workers) {
    const list = await getJson(api + "/workers");
    const now = Date.now();
    workers.innerHTML = list.map((w) => workerRow(w, now)).join("") || ${JSON.stringify(NO_WORKERS)};
  }
  // The figures read an hour of calls: every 10 s is often enough for charts a minute a bar.
  if (ticks++ % 5 === 0) drawFigures(await getJson(api + "/figures"));
}
let ticks = 0;
const tick = () => refresh().catch(() => {}); // a refresh that fails (the server restarting) is tried again
void tick();
const timer = setInterval(tick, 2000);`;
  return page(`${app.name ?? app.id} - stubrun`, body, script);
}

function functionRow(f: FunctionManifest, webBase: string, nextRun: number | undefined): string {
  const schedule = f.options.schedule;
  const kind = f.kind === "webEndpoint" ? "web endpoint" : schedule ? "schedule" : "function";
  const details: string[] = [];
  if (f.kind === "webEndpoint") {
    const url = `${webBase}/${f.name}`;
    details.push(`${escapeHtml(f.webMethod ?? "GET")} <a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`);
  }
  if (schedule) {
    details.push(escapeHtml(schedule.kind === "cron" ? `cron ${schedule.expression} (${schedule.timezone})` : `every ${period(schedule.seconds)}`));
    details.push(`next run: <span class="next-run">${nextRun === undefined ? "not scheduled (the app is not deployed and running)" : `${shownTime(nextRun)} UTC`}</span>`);
  }
  return `<tr data-function="${escapeHtml(f.name)}"><td>${escapeHtml(f.name)}</td><td class="kind">${kind}</td><td>${escapeHtml(f.params.map((p) => `${p.name}: ${p.type}`).join(", "))}</td><td class="resources">${resources(f)}</td><td>${details.join("<br>")}</td></tr>`;
}

/** "memory 256 MiB, cpu 2"; a function without them has the server's heap cap and does not count against the cores. */
function resources(f: FunctionManifest): string {
  const { memory, cpu } = f.options;
  const parts = [memory === undefined ? "memory: server default" : `memory ${memory} MiB`];
  if (cpu !== undefined) parts.push(`cpu ${cpu}`);
  return escapeHtml(parts.join(", "));
}

/** A period in the largest whole unit: "every 1 h", "every 90 s". */
function period(seconds: number): string {
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["min", 60]] as const) if (seconds % size === 0) return `${seconds / size} ${unit}`;
  return `${seconds} s`;
}
