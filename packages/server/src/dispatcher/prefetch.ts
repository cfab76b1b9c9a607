import os from "node:os";
import type { Call, Pool } from "./dispatch-state";
import type { WorkerProcess } from "./worker-process";

/**
 * The most calls a worker is sent ahead of the one it runs. A worker runs a trivial call in a few
 * µs, and the server may spend milliseconds in one turn (a frame of a thousand `call.start`s): the
 * calls a worker holds are what keeps it busy meanwhile, and each batch of them is one IPC write
 * (and wakeup) each way. PREFETCH_BUDGET_MS still bounds them by time.
 */
export const PREFETCH_DEPTH = 512;

/**
 * How long, by its pool's average, the calls sent ahead to a worker may take in all. A call sent
 * ahead waits behind the others even if another worker comes free meanwhile, so only short calls
 * are sent ahead (where the round trip to the worker is a large part of each call), and only as
 * many as this allows: a function whose calls take 8 ms or more is never sent ahead.
 */
export const PREFETCH_BUDGET_MS = 8;

/**
 * A function whose calls take less than this on average is served by no more workers than the
 * machine has cores: a worker runs thousands of them a second, so another one brings nothing but
 * its start (tens of ms of CPU) and its share of the cores the server needs.
 */
export const VERY_SHORT_MS = 0.5;

/**
 * A function whose calls take less than this on average is served by one worker: it runs them
 * faster than the server hands them out (~10-15 µs of the server's time each), so a second one
 * brings only its start (and that of the worker started ahead to replace it) on the same cores.
 */
export const TRIVIAL_MS = 0.05;

/** How long a pool that wants more workers waits for its first calls to end before it starts them. */
export const SAMPLE_WAIT_MS = 20;

/** How much each new call counts in a pool's average duration. */
const AVERAGE_WEIGHT = 0.1;
/** Calls a pool must have finished before its average is trusted. */
const MIN_SAMPLES = 8;

/**
 * Sending a worker its next inputs before it finishes the current one (prefetch): the worker
 * keeps them in a queue and runs them one after the other, so it never waits for the server
 * between two calls, and the inputs of a turn travel in one IPC write. This keeps, per worker,
 * the calls sent ahead (in the order the worker will run them), and per pool the average call
 * duration that decides whether sending ahead is worth it.
 */
export class Prefetch {
  private readonly ahead = new Map<WorkerProcess, Call[]>();
  private readonly startedAt = new WeakMap<Call, number>();
  private readonly averages = new WeakMap<Pool, { ms: number; samples: number }>();
  /** When a pool first wanted more workers than it has, before its calls were measured. */
  private readonly wantedSince = new WeakMap<Pool, number>();
  private readonly cores = os.availableParallelism();

  /** How many calls a worker of the pool may hold ahead: 0 until its calls are known to be short. */
  depth(pool: Pool): number {
    const average = this.averages.get(pool);
    if (average === undefined || average.samples < MIN_SAMPLES) return 0;
    return Math.min(PREFETCH_DEPTH, Math.floor(PREFETCH_BUDGET_MS / Math.max(average.ms, 0.001)));
  }

  /** Calls the worker holds ahead. */
  held(worker: WorkerProcess): number {
    return this.ahead.get(worker)?.length ?? 0;
  }

  /** A call was sent to the worker, behind what it already has. */
  add(worker: WorkerProcess, call: Call): void {
    const queue = this.ahead.get(worker);
    if (queue) queue.push(call);
    else this.ahead.set(worker, [call]);
  }

  /** The call the worker runs next, now that its current one ended. */
  next(worker: WorkerProcess): Call | undefined {
    const queue = this.ahead.get(worker);
    const call = queue?.shift();
    if (queue?.length === 0) this.ahead.delete(worker);
    return call;
  }

  /** Takes a call back (it was cancelled before the worker started it); false if it was not sent ahead. */
  remove(worker: WorkerProcess, call: Call): boolean {
    const queue = this.ahead.get(worker);
    const at = queue?.indexOf(call) ?? -1;
    if (!queue || at < 0) return false;
    queue.splice(at, 1);
    if (queue.length === 0) this.ahead.delete(worker);
    return true;
  }

  /** The calls a worker that is gone never started, in order. */
  release(worker: WorkerProcess): Call[] {
    const queue = this.ahead.get(worker) ?? [];
    this.ahead.delete(worker);
    return queue;
  }

  /**
   * How many workers the pool may have by the length of its calls: as many as its limits allow,
   * the machine's cores for very short calls, and (`wait: true`) the ones it has while its first
   * calls are measured, for `SAMPLE_WAIT_MS` at most.
   */
  workerCap(pool: Pool): { cap: number; wait?: boolean } {
    const average = this.averages.get(pool);
    if (average !== undefined && average.samples >= MIN_SAMPLES) return { cap: this.capFor(average.ms) };
    if (pool.workers.size === 0) return { cap: Infinity }; // nothing to measure with
    const now = performance.now();
    const since = this.wantedSince.get(pool) ?? now;
    this.wantedSince.set(pool, since);
    if (now - since < SAMPLE_WAIT_MS) return { cap: pool.workers.size, wait: true };
    // Fewer calls than MIN_SAMPLES ended in the wait (the server was busy taking in a large map's
    // inputs), but those that did were very short: eight workers started now would only slow it.
    if (average !== undefined && average.ms < VERY_SHORT_MS) return { cap: this.capFor(average.ms) };
    return { cap: Infinity };
  }

  /** One worker for trivial calls, the cores for very short ones, else no cap. */
  private capFor(averageMs: number): number {
    if (averageMs < TRIVIAL_MS) return 1;
    return averageMs < VERY_SHORT_MS ? this.cores : Infinity;
  }

  /** A call began on its worker. */
  began(call: Call): void {
    this.startedAt.set(call, performance.now());
  }

  /**
   * A call ended on its worker: its duration goes into its pool's average; the worker's own
   * measure (`ranMs`) when it gave one, since the server's includes the time it was busy elsewhere.
   */
  ended(call: Call, pool: Pool, ranMs?: number): void {
    const start = this.startedAt.get(call);
    if (start === undefined) return;
    this.startedAt.delete(call);
    const ms = ranMs ?? performance.now() - start;
    const average = this.averages.get(pool);
    if (!average) this.averages.set(pool, { ms, samples: 1 });
    else {
      average.ms += (ms - average.ms) * AVERAGE_WEIGHT;
      average.samples++;
    }
  }
}
