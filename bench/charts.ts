/**
 * `npm run bench:charts`: from every bench/results/*.json, an SVG per figure of its history
 * (median, min–max bar, the baselines dashed, the target as a red line where it is a number) in
 * docs/images/bench-KEY.svg, and the latest run's table in docs/performance.md (between the
 * `bench:table` markers).
 */
import fs from "node:fs";
import path from "node:path";
import { formatTable, num, type BenchResult, type Row } from "./lib/result";

const ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(ROOT, "bench/results");
const IMAGES = path.join(ROOT, "docs/images");
const DOC = path.join(ROOT, "docs/performance.md");

/** The figures' targets as a line on their chart (relative targets have none). */
const TARGET_LINES: Record<string, number> = { "cold-start": 50, "round-trip": 0.2, map: 30_000, "idle-rss": 80, "generator-map": 300, "queue-nodes": 2 };
const BASELINE_COLOURS = ["#888", "#c80", "#08a"];

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/`/g, "");
}

/** One figure's history as an SVG line chart. */
export function chart(key: string, history: { date: string; commit: string; row: Row }[]): string {
  const width = 640;
  const height = 300;
  const left = 70;
  const right = 170;
  const top = 40;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const { figure, unit } = history[history.length - 1].row;
  const values = history.flatMap(({ row }) => [row.measured.min, row.measured.max, ...row.baselines.map((b) => b.stat.median)]);
  if (TARGET_LINES[key] !== undefined) values.push(TARGET_LINES[key]);
  const max = Math.max(...values) * 1.1 || 1;
  const x = (i: number) => left + (history.length === 1 ? plotW / 2 : (i * plotW) / (history.length - 1));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="13" font-weight="bold">${escape(figure)}</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#000"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#000"/>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    parts.push(`<line x1="${left - 4}" y1="${y(v)}" x2="${left + plotW}" y2="${y(v)}" stroke="#eee"/>`, `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${num(v)}</text>`);
  }
  parts.push(`<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${escape(unit)}</text>`);
  history.forEach(({ date, commit }, i) => {
    parts.push(`<text x="${x(i)}" y="${top + plotH + 16}" text-anchor="middle" font-size="9">${escape(date.slice(5, 16).replace("T", " "))}</text>`);
    parts.push(`<text x="${x(i)}" y="${top + plotH + 28}" text-anchor="middle" font-size="9" fill="#555">${escape(commit.slice(0, 7))}</text>`);
  });
  const line = (points: [number, number][], colour: string, dashed: boolean) =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2"${dashed ? ' stroke-dasharray="5,4"' : ""} points="${points.map(([a, b]) => `${a},${b}`).join(" ")}"/>`;
  const legend: [string, string, boolean][] = [];
  const names = [...new Set(history.flatMap(({ row }) => row.baselines.map((b) => b.name)))];
  names.forEach((name, n) => {
    const points = history.flatMap(({ row }, i): [number, number][] => {
      const b = row.baselines.find((c) => c.name === name);
      return b ? [[x(i), y(b.stat.median)]] : [];
    });
    const colour = BASELINE_COLOURS[n % BASELINE_COLOURS.length];
    parts.push(line(points, colour, true));
    legend.push([name, colour, true]);
  });
  if (TARGET_LINES[key] !== undefined) {
    parts.push(`<line x1="${left}" y1="${y(TARGET_LINES[key])}" x2="${left + plotW}" y2="${y(TARGET_LINES[key])}" stroke="#d00" stroke-dasharray="2,3"/>`);
    legend.push([`target ${num(TARGET_LINES[key])}`, "#d00", true]);
  }
  parts.push(line(history.map(({ row }, i) => [x(i), y(row.measured.median)]), "#1a5", false));
  history.forEach(({ row }, i) => {
    parts.push(`<line x1="${x(i)}" y1="${y(row.measured.min)}" x2="${x(i)}" y2="${y(row.measured.max)}" stroke="#1a5"/>`);
    parts.push(`<circle cx="${x(i)}" cy="${y(row.measured.median)}" r="3" fill="#1a5"><title>${num(row.measured.median)} ${escape(unit)}</title></circle>`);
  });
  legend.unshift(["stubrun (median, min–max)", "#1a5", false]);
  legend.forEach(([name, colour, dashed], n) => {
    const ly = top + 10 + n * 18;
    parts.push(`<line x1="${left + plotW + 12}" y1="${ly}" x2="${left + plotW + 32}" y2="${ly}" stroke="${colour}" stroke-width="2"${dashed ? ' stroke-dasharray="5,4"' : ""}/>`);
    parts.push(`<text x="${left + plotW + 36}" y="${ly + 4}">${escape(name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function main(): void {
  const results = fs
    .readdirSync(RESULTS)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(RESULTS, f), "utf8")) as BenchResult)
    .filter((r) => !r.quick);
  if (results.length === 0) throw new Error("no results in bench/results: run `npm run bench` first");
  fs.mkdirSync(IMAGES, { recursive: true });
  const latest = results[results.length - 1];
  for (const { key } of latest.rows) {
    const history = results.flatMap((r) => r.rows.filter((row) => row.key === key).map((row) => ({ date: r.date, commit: r.commit, row })));
    fs.writeFileSync(path.join(IMAGES, `bench-${key}.svg`), chart(key, history));
  }
  const images = latest.rows.map((row) => `![${row.figure.replace(/`/g, "")}](images/bench-${row.key}.svg)`).join("\n");
  const m = latest.machine;
  const table = [
    `Latest run: ${latest.date.slice(0, 16).replace("T", " ")} UTC, commit ${latest.commit}, ${m.cpus} cores (${m.model}), Node ${m.node}, load ${m.load.toFixed(1)} at the end; each figure the median of ${latest.runs} runs.`,
    "",
    formatTable(latest),
    "",
    images,
  ].join("\n");
  const doc = fs.readFileSync(DOC, "utf8");
  const start = "<!-- bench:table -->";
  const end = "<!-- /bench:table -->";
  if (!doc.includes(start) || !doc.includes(end)) throw new Error(`docs/performance.md has no ${start} ... ${end} markers for the table`);
  fs.writeFileSync(DOC, doc.slice(0, doc.indexOf(start) + start.length) + "\n" + table + "\n" + doc.slice(doc.indexOf(end)));
  console.log(`${latest.rows.length} charts in docs/images/, the table of ${results.length} runs' latest in docs/performance.md`);
}

if (require.main === module) main();
