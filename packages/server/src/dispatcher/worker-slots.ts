import type { WorkerProcess } from "./worker-process";

/**
 * The calls each worker runs now: up to its function's `concurrentInputs` (1 by default). A
 * worker is `busy` while it runs at least one call and `idle` when it runs none; whether it can
 * take another is a matter of free slots, which only this records.
 */
export class WorkerSlots {
  private readonly running = new Map<WorkerProcess, Set<string>>();

  /** Records that `worker` runs `callId` (and counts as busy). */
  add(worker: WorkerProcess, callId: string): void {
    let calls = this.running.get(worker);
    if (!calls) this.running.set(worker, (calls = new Set()));
    calls.add(callId);
    if (worker.state === "idle") worker.state = "busy";
  }

  /**
   * The call left the worker (done, timed out, cancelled). False when the worker was not running
   * it (a late or repeated message). A worker left with no call is idle again.
   */
  remove(worker: WorkerProcess, callId: string): boolean {
    const calls = this.running.get(worker);
    if (!calls?.delete(callId)) return false;
    if (calls.size === 0) {
      this.running.delete(worker);
      if (worker.state === "busy") worker.state = "idle";
    }
    return true;
  }

  /** The ids of the calls the worker runs now. */
  callsOf(worker: WorkerProcess): string[] {
    return [...(this.running.get(worker) ?? [])];
  }

  count(worker: WorkerProcess): number {
    return this.running.get(worker)?.size ?? 0;
  }

  /** Whether a ready worker may take another call, out of `capacity`. */
  hasRoom(worker: WorkerProcess, capacity: number): boolean {
    return (worker.state === "idle" || worker.state === "busy") && this.count(worker) < capacity;
  }

  /** The worker is gone: what it ran is the caller's to fail. */
  forget(worker: WorkerProcess): string[] {
    const calls = this.callsOf(worker);
    this.running.delete(worker);
    return calls;
  }
}

/** How many calls one worker of the function serves at once. */
export function capacityOf(fn: { options: { concurrentInputs?: number } }): number {
  return Math.max(1, fn.options.concurrentInputs ?? 1);
}
