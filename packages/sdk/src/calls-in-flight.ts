/**
 * The remote calls this process has started and that have not ended, by function name: the CLI
 * asks when a local entrypoint returns, so a forgotten `await` is named rather than cut short.
 */
const KEY = Symbol.for("stubrun.callsInFlight");
const holder = globalThis as { [KEY]?: Map<number, string> };
const inFlight = (holder[KEY] ??= new Map<number, string>());
let seq = 0;

/** Counts a call of `functionName` as running; the returned function says it ended (once). */
export function beginCall(functionName: string): () => void {
  const id = ++seq;
  inFlight.set(id, functionName);
  return () => void inFlight.delete(id);
}

/** The function names of the calls still running, one entry per call. */
export function callsInFlight(): string[] {
  return [...inFlight.values()];
}
