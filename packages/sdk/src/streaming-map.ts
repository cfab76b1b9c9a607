import type { CallResult, Encoded } from "@stubrun/protocol";
import { outcomeOfResult, writeOutput } from "./function-call";
import type { AppSession } from "./session";

/** Calls a map keeps started or finished-but-not-yielded at once: what bounds its memory. */
export const MAP_WINDOW = 2_000;

type Outcome<R> = { ok: true; value: R } | { ok: false; error: Error };

/** A call of the map that has not ended: its id once the server accepted it. */
interface Running {
  callId?: string;
  /** Told the id (undefined: refused) when the map stopped before it came. */
  whenStarted?: (callId: string | undefined) => void;
}

/** Whether a value is a promise (an async iterator's step, or an input to await) rather than the value. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/**
 * The calls of a `.map()`, streamed: inputs are read only as the window allows (an async
 * generator of a million inputs is read as the results are consumed), each is started as it is
 * read, and results come back in input order, or as they finish with `order: false`. Breaking
 * out of the loop (or an error) cancels the calls still running. A call costs no promise of its
 * own (`ServerConnection.sendCall`), and inputs from a plain iterator are read without awaiting.
 */
export async function* streamCalls<R>(
  /** The app the calls go to, asked for once the map is iterated. */
  sessionOf: () => Promise<AppSession>,
  functionName: string,
  inputs: Iterator<Encoded[]> | AsyncIterator<Encoded[]>,
  options: { order: boolean; returnErrors: boolean; window?: number },
): AsyncGenerator<R> {
  const session = await sessionOf();
  const window = options.window ?? MAP_WINDOW;
  const running = new Map<number, Running>();
  const ready = new Map<number, Outcome<R>>(); // by input index (in order)
  const finished: Outcome<R>[] = []; // as they end (order: false)
  let finishedAt = 0; // the next of `finished` to yield: no shift(), so a large unordered map stays linear
  let nextIn = 0;
  let nextOut = 0;
  let exhausted = false;
  let inputError: unknown;
  let stopped = false;
  let wake: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  const buffered = () => running.size + ready.size + (finished.length - finishedAt);
  let roomFreed: (() => void) | undefined;
  const freeRoom = () => {
    roomFreed?.();
    roomFreed = undefined;
  };

  // Reads inputs and starts their calls while the window has room.
  const pump = (async () => {
    try {
      while (!stopped) {
        if (buffered() >= window) {
          await new Promise<void>((resolve) => (roomFreed = resolve));
          continue;
        }
        const step = inputs.next();
        const next = isThenable(step) ? await step : step;
        if (next.done || stopped) break;
        const index = nextIn++;
        const call: Running = {};
        running.set(index, call);
        const end = (outcome: Outcome<R>) => {
          if (running.get(index) !== call) return;
          running.delete(index);
          if (options.order) ready.set(index, outcome);
          else finished.push(outcome);
          signal();
        };
        const onResult = (result: CallResult) => end(outcomeOfResult<R>(result));
        const reply = {
          started: (callId: string) => {
            call.callId = callId;
            call.whenStarted?.(callId);
          },
          refused: (error: Error) => {
            call.whenStarted?.(undefined);
            end({ ok: false, error });
          },
        };
        session.connection.sendCall(session.appId, functionName, next.value, { onOutput: writeOutput, onResult }, reply, session.version, session.params);
      }
    } catch (error) {
      inputError = error;
    } finally {
      exhausted = true;
      signal();
    }
  })();
  try {
    for (;;) {
      let outcome: Outcome<R> | undefined;
      if (options.order && ready.has(nextOut)) {
        outcome = ready.get(nextOut);
        ready.delete(nextOut++);
      } else if (!options.order && finishedAt < finished.length) {
        outcome = finished[finishedAt++];
        if (finishedAt > 1024 && finishedAt * 2 > finished.length) finished.splice(0, finishedAt), (finishedAt = 0);
      }
      if (outcome) {
        freeRoom();
        if (outcome.ok) yield outcome.value;
        else if (options.returnErrors) yield outcome.error as R;
        else throw outcome.error;
        continue;
      }
      if (inputError !== undefined) throw inputError;
      if (exhausted && running.size === 0 && ready.size === 0 && finishedAt >= finished.length) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stopped = true;
    freeRoom();
    await Promise.all([...running.values()].map((call) => cancel(session, call)));
    // Not awaited: an input generator may be waiting on something slow; the pump starts nothing once stopped.
    void pump;
  }
}

/** Cancels a call of a map that stopped, once its id is known (a refused one has nothing to cancel). */
async function cancel(session: AppSession, call: Running): Promise<void> {
  const callId = call.callId ?? (await new Promise<string | undefined>((resolve) => (call.whenStarted = resolve)));
  if (callId !== undefined) await session.connection.request({ type: "call.cancel", callId }).catch(() => {});
}
