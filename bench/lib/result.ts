import type { Stat } from "./stats";

/** One figure of DESIGN.md §4 with its baselines, as bench/results/*.json keeps it. */
export interface Row {
  /** Stable name across runs: the chart's file name (docs/images/bench-KEY.svg). */
  key: string;
  figure: string;
  unit: string;
  measured: Stat;
  baselines: { name: string; stat: Stat }[];
  target: string;
  /** Whether the target was met in this run. */
  met: boolean;
  note?: string;
}

/** One `npm run bench`. */
export interface BenchResult {
  date: string;
  commit: string;
  quick: boolean;
  runs: number;
  machine: { cpus: number; model: string; node: string; load: number };
  rows: Row[];
}

/** Throws unless every figure and baseline was measured and is a positive number: what the quick mode proves. */
export function checkResult(result: BenchResult): void {
  for (const row of result.rows) {
    for (const [name, s] of [["measured", row.measured], ...row.baselines.map((b) => [b.name, b.stat] as const)] as const) {
      if (!(Number.isFinite(s.median) && s.median > 0 && s.min <= s.median && s.median <= s.max)) {
        throw new Error(`bench: ${row.figure}: ${name} is not a measurement (${JSON.stringify(s)})`);
      }
    }
  }
}

/** A number as the table shows it: 3 significant digits below 10, whole numbers above. */
export function num(n: number): string {
  if (n === 0) return "0";
  if (n >= 1000) return Math.round(n).toLocaleString("en");
  if (n >= 10) return n.toFixed(0);
  if (n >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

/** "median unit (min–max)". */
export function cell(s: Stat, unit: string): string {
  const spread = s.samples.length > 1 ? ` (${num(s.min)}–${num(s.max)})` : "";
  return `${num(s.median)} ${unit}${spread}`;
}

/** The result as a Markdown table: figure, measured, baselines, target, met. */
export function formatTable(result: BenchResult): string {
  const lines = ["| figure | measured: median (min–max) | baselines, same run | target | met |", "| --- | --- | --- | --- | --- |"];
  for (const row of result.rows) {
    const baselines = row.baselines.map((b) => `${b.name}: ${cell(b.stat, row.unit)}`);
    if (row.note) baselines.push(row.note);
    lines.push(`| ${row.figure} | ${cell(row.measured, row.unit)} | ${baselines.join("; ") || "–"} | ${row.target} | ${row.met ? "yes" : "**no**"} |`);
  }
  return lines.join("\n");
}
