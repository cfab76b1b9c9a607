/** The first and the longest wait before a keepWarm worker that died is replaced. */
export const WARM_BACKOFF_FIRST_MS = 1_000;
export const WARM_BACKOFF_MAX_MS = 60_000;

/**
 * When to replace the keepWarm workers of one function that die on their own: at once after a
 * first failure, then after 2 s, 4 s, ... up to a minute, so code whose workers die as they
 * start does not fork in a loop. A worker that lived longer than the longest wait starts the
 * count again.
 */
export class WarmBackoff {
  private failures = 0;
  private noted = false;

  /** A worker died on its own after `livedMs`: how long to wait, and whether to say so (once). */
  failed(livedMs: number): { delayMs: number; note: boolean } {
    if (livedMs > WARM_BACKOFF_MAX_MS) this.failures = 0;
    this.failures++;
    if (this.failures === 1) return { delayMs: 0, note: false };
    const note = !this.noted;
    this.noted = true;
    return { delayMs: Math.min(WARM_BACKOFF_FIRST_MS * 2 ** (this.failures - 1), WARM_BACKOFF_MAX_MS), note };
  }

  /** A worker served a call: the code works. */
  reset(): void {
    this.failures = 0;
  }
}
