/** A figure measured several times: its median and spread, and every sample. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

/** The median and spread of samples (at least one). */
export function stat(samples: number[]): Stat {
  if (samples.length === 0) throw new Error("no samples: the measurement did not run");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

/** The value at quantile q (0..1) of samples, e.g. 0.5 for a p50 over round trips. */
export function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

/** Runs `measure` `runs` times, one after the other. */
export async function repeat(runs: number, measure: () => number | Promise<number>): Promise<Stat> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measure());
  return stat(samples);
}

/** Milliseconds since `start` (process.hrtime.bigint()). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
