/** How long a stopping server or node waits for Redis (putting calls back, closing its queues). */
export const REDIS_CLOSE_MS = 10_000;

/**
 * Waits for `work` at most `ms`; true when it had not settled by then. For what waits on Redis
 * while stopping: with Redis gone, BullMQ retries for ever, and a server or node must still stop.
 */
export async function lateAfter(work: unknown, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  try {
    const settled = Promise.resolve(work).then(
      () => false,
      () => false,
    );
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
