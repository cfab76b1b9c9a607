/**
 * The script that draws an app's figures (`GET /api/apps/APP/figures`) as small SVG bar charts:
 * per function, calls a minute, error rate, p50 and p95 duration over the last hour. Drawn by
 * the page itself, from nothing but the API's numbers. Each chart says what it shows in its
 * `aria-label` and its caption, and carries its numbers in `data-values`.
 */
export const CHART_SCRIPT = `
function barChart(values, label, extraClass) {
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const w = 4, h = 40;
  const bars = values.map((v, i) => {
    if (v === null || v === 0 || max === 0) return "";
    const bh = Math.max(1, Math.round((v / max) * h));
    return '<rect x="' + i * w + '" y="' + (h - bh) + '" width="' + (w - 1) + '" height="' + bh + '"><title>' + escapeHtml(String(v)) + '</title></rect>';
  }).join("");
  return '<svg class="chart ' + (extraClass || "") + '" role="img" aria-label="' + escapeHtml(label) + '" viewBox="0 0 ' + values.length * w + ' ' + h +
    '" preserveAspectRatio="none" data-values="' + escapeHtml(JSON.stringify(values)) + '">' + bars + '</svg>';
}
function percent(r) { return r === null ? "-" : (r * 100).toFixed(1) + "%"; }
function drawFigures(list) {
  const box = document.getElementById("figures");
  if (!list.length) { box.innerHTML = "<p>No functions.</p>"; return; }
  box.innerHTML = list.map((f) => {
    const t = f.total;
    const name = escapeHtml(f.functionName);
    return '<section class="function-figures" data-function="' + name + '" data-calls="' + t.calls + '"><h3>' + name + '</h3><div class="figures">' +
      '<figure>' + barChart(f.calls, f.functionName + ": calls a minute, last hour") + '<figcaption>calls/min: ' + t.callsPerMinute.toFixed(2) + ' (' + t.calls + ' in the hour)</figcaption></figure>' +
      '<figure>' + barChart(f.errorRate, f.functionName + ": error rate a minute, last hour", "errors") + '<figcaption>error rate: ' + percent(t.errorRate) + '</figcaption></figure>' +
      '<figure>' + barChart(f.p50, f.functionName + ": median duration a minute, last hour") + '<figcaption>p50: ' + shownDuration(t.p50) + '</figcaption></figure>' +
      '<figure>' + barChart(f.p95, f.functionName + ": 95th percentile duration a minute, last hour") + '<figcaption>p95: ' + shownDuration(t.p95) + '</figcaption></figure>' +
      '</div></section>';
  }).join("");
}
`;
