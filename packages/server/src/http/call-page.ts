import type { AppSummary, CallInfo } from "@stubrun/protocol";
import type { CallDisplay } from "./call-display";
import { escapeHtml, followLogsScript, outcomeHtml, outcomeTitle, page, shownDuration, shownTime } from "./page-layout";

/**
 * `/apps/APP/calls/ID`: one call: its function, state, times and attempts; its arguments and
 * result (or error with the remote stack) as far as they can be shown; its own log lines,
 * followed live while it runs; and a Cancel button while it runs. The script waits on the
 * calls API for the call's end and shows its outcome then, without a reload.
 */
export function renderCallPage(app: AppSummary, info: CallInfo, display: CallDisplay): string {
  const appHref = `/apps/${encodeURIComponent(app.id)}`;
  const running = info.state === "running";
  const body = `<nav><a href="${appHref}">&larr; ${escapeHtml(app.name ?? app.id)}</a> · <a href="/apps">all apps</a></nav>
<h1>Call <code>${escapeHtml(info.id)}</code></h1>
<p>${escapeHtml(info.functionName)} of app <a href="${appHref}">${escapeHtml(app.name ?? app.id)}</a>: state <span id="call-state" class="state state-${escapeHtml(info.state)}">${escapeHtml(info.state)}</span>,
started ${shownTime(info.createdAt)}, duration <span id="duration">${shownDuration(info.durationMs)}</span>, attempts <span id="attempts">${info.attempts}</span>.</p>
<p><button id="cancel" ${running ? "" : "disabled"}>Cancel call</button></p>
<section aria-labelledby="args-title"><h2 id="args-title">Arguments</h2>
<pre class="value" id="args" tabindex="0">${escapeHtml(display.args ?? "(not recorded)")}</pre></section>
<section aria-labelledby="outcome-title"><h2 id="outcome-title">${outcomeTitle(info)}</h2>
<div id="outcome">${outcomeHtml(info, display)}</div></section>
<section aria-labelledby="logs-title"><h2 id="logs-title">Logs</h2>
<pre id="logs" tabindex="0" aria-label="The call's own log lines, followed live"></pre></section>`;
  const callApi = `/api/calls/${encodeURIComponent(info.id)}`;
  const script = `
const callApi = ${JSON.stringify(callApi)};
${followLogsScript("callApi")}
const cancel = document.getElementById("cancel");
cancel.addEventListener("click", async () => {
  if (!confirm("Cancel this call? Its worker is stopped.")) return;
  cancel.disabled = true;
  await fetch(callApi + "/cancel", { method: "POST" });
});
function show(info) {
  const state = document.getElementById("call-state");
  state.textContent = info.state;
  state.className = "state state-" + info.state;
  document.getElementById("duration").textContent = shownDuration(info.durationMs);
  document.getElementById("attempts").textContent = info.attempts;
  document.getElementById("outcome-title").textContent = outcomeTitle(info);
  document.getElementById("outcome").innerHTML = outcomeHtml(info, info.display);
  if (info.state !== "running") cancel.disabled = true;
}
async function follow() {
  for (;;) {
    let info;
    try {
      const res = await fetch(callApi + "?display=1&waitMs=20000");
      if (!res.ok) return;
      info = await res.json();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 2000)); // the server restarting: try again
      continue;
    }
    show(info);
    if (info.state !== "running") return;
  }
}
${running ? "void follow();" : ""}`;
  return page(`${info.id} - ${app.name ?? app.id} - stubrun`, body, script);
}

/** `/apps/APP/calls/ID` for a call that is not there, or not of that app. */
export function renderMissingCallPage(appRef: string, callId: string): string {
  const body = `<nav><a href="/apps/${encodeURIComponent(appRef)}">&larr; the app</a> · <a href="/apps">all apps</a></nav>
<h1>No such call</h1>
<p id="missing">App <code>${escapeHtml(appRef)}</code> has no call <code>${escapeHtml(callId)}</code>: check the id, or its app was deleted.</p>`;
  return page("No such call - stubrun", body, "");
}
