import { AsyncLocalStorage } from "node:async_hooks";

/** Which call the code running now belongs to, so its output is sent as that call's. */
export interface CallContext {
  /** The call the running code belongs to; null outside calls (enter and exit hooks, leftovers). */
  current(): string | null;
  /** Runs `body` as the call `callId`: what it writes, and what it starts, is that call's. */
  run<T>(callId: string, body: () => Promise<T>): Promise<T>;
}

/**
 * A worker serving one call at a time tells calls apart with a variable. One serving several at
 * once (`concurrentInputs` above 1) needs an AsyncLocalStorage, which follows each call through
 * its awaits and timers; it is used only then, since it turns on Node's promise hooks, which
 * every `await` of every function pays for.
 */
export function callContext(concurrentInputs: number): CallContext {
  if (concurrentInputs > 1) {
    const storage = new AsyncLocalStorage<string>();
    return { current: () => storage.getStore() ?? null, run: (callId, body) => storage.run(callId, body) };
  }
  let currentCallId: string | null = null;
  return {
    current: () => currentCallId,
    run: async (callId, body) => {
      currentCallId = callId;
      try {
        return await body();
      } finally {
        currentCallId = null;
      }
    },
  };
}
