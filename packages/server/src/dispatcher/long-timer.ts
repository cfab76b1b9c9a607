/** The longest delay `setTimeout` takes: past it Node fires after 1 ms (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer that can be cancelled; see `startTimer`. */
export interface Timer {
  cancel(): void;
}

/**
 * Calls `fire` after `ms`, however long that is: a wait past `MAX_TIMER_MS` is taken in steps,
 * so a timeout of 30 days fires in 30 days, not in 1 ms. A negative or NaN delay fires at once.
 * `unref` timers do not keep the server alive.
 */
export function startTimer(ms: number, fire: () => void, options: { unref?: boolean } = {}): Timer {
  let handle: NodeJS.Timeout | undefined;
  let cancelled = false;
  const deadline = Date.now() + (ms > 0 ? ms : 0);
  const arm = (left: number) => {
    handle = setTimeout(() => {
      if (cancelled) return;
      const rest = deadline - Date.now();
      if (rest > 0 && left > MAX_TIMER_MS) return arm(rest);
      fire();
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS) || 0);
    if (options.unref) handle.unref();
  };
  arm(ms > 0 ? ms : 0);
  return {
    cancel() {
      cancelled = true;
      clearTimeout(handle);
    },
  };
}
