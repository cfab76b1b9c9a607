import type { FunctionFigures } from "@stubrun/protocol";
import type { CallTiming } from "../state/calls.repository";

const MINUTE_MS = 60_000;
/** Minutes the figures cover. */
export const FIGURE_MINUTES = 60;

/**
 * Per function, over the last hour, one entry a minute (by when each call ended): calls, error
 * rate (failed and timed out; cancelled calls are not errors), p50 and p95 duration; and the
 * same over the hour. Every function of `functionNames` has an entry, called or not.
 */
export function callFigures(functionNames: string[], timings: CallTiming[], now = Date.now()): FunctionFigures[] {
  const last = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const first = last - (FIGURE_MINUTES - 1) * MINUTE_MS;
  const minutes = Array.from({ length: FIGURE_MINUTES }, (_, i) => first + i * MINUTE_MS);
  const byFunction = new Map<string, CallTiming[]>(functionNames.map((name) => [name, []]));
  for (const t of timings) if (t.endedAt >= first) byFunction.get(t.functionName)?.push(t);
  return [...byFunction].map(([functionName, calls]) => {
    const perMinute: CallTiming[][] = minutes.map(() => []);
    for (const c of calls) perMinute[Math.min(FIGURE_MINUTES - 1, Math.floor((c.endedAt - first) / MINUTE_MS))].push(c);
    return {
      functionName,
      minutes,
      calls: perMinute.map((m) => m.length),
      errorRate: perMinute.map(errorRate),
      p50: perMinute.map((m) => percentile(m, 0.5)),
      p95: perMinute.map((m) => percentile(m, 0.95)),
      total: { calls: calls.length, callsPerMinute: calls.length / FIGURE_MINUTES, errorRate: errorRate(calls), p50: percentile(calls, 0.5), p95: percentile(calls, 0.95) },
    };
  });
}

function errorRate(calls: CallTiming[]): number | null {
  if (calls.length === 0) return null;
  return calls.filter((c) => c.state === "failed" || c.state === "timed_out").length / calls.length;
}

/** The nearest-rank percentile of the calls' durations, in ms. */
function percentile(calls: CallTiming[], p: number): number | null {
  if (calls.length === 0) return null;
  const durations = calls.map((c) => c.endedAt - c.createdAt).sort((a, b) => a - b);
  return durations[Math.max(0, Math.ceil(p * durations.length) - 1)];
}
