/** One row of the faults summary: a scenario, its figures, and the checks that failed. */
export interface ScenarioResult {
  scenario: string;
  calls: number;
  kills: number;
  hung: number;
  /** Recorded states, e.g. "990 succeeded, 10 failed". */
  states: string;
  seconds: number;
  failures: string[];
  /** Other figures worth a line in the report. */
  notes: string[];
}

/** "N a, M b" from a tally. */
export function describeTally(tally: Map<string, number>): string {
  return [...tally.entries()].map(([k, n]) => `${n} ${k}`).join(", ") || "none";
}

/** Counts each value. */
export function tally(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
