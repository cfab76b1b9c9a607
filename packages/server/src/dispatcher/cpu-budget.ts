import { UsageError } from "@stubrun/protocol";
import os from "node:os";

/** Shares are added as floats (0.1 + 0.2): this much over the total still fits. */
const EPSILON = 1e-9;

/**
 * The machine's cores as shares of the workers running on it: a worker whose function has a
 * `cpu` option holds that much from its start until it has exited. Functions without one hold
 * nothing, so they start as they always did.
 */
export class CpuBudget<P extends { stopped?: boolean; queued: number } = { stopped?: boolean; queued: number }> {
  private readonly held = new Map<object, number>();
  private used = 0;
  /** Pools with calls waiting for cores (not for a worker slot), oldest first. */
  private readonly waiting = new Set<P>();

  /** @param total the cores to share out (a node may be told; else `STUBRUN_CPUS`, else the machine's). */
  constructor(readonly total: number = coresFromEnv()) {}

  /**
   * Whether a worker asking for `cpu` may start now. One asking for more than the whole machine
   * is let through: the dispatcher refuses it with a message rather than let it wait forever.
   */
  fits(cpu: number | undefined): boolean {
    if (cpu === undefined || cpu > this.total) return true;
    return this.used + cpu <= this.total + EPSILON;
  }

  /** Why a worker asking for `cpu` can never start here, or undefined when it can. */
  tooMuch(cpu: number | undefined): string | undefined {
    if (cpu === undefined || cpu <= this.total) return undefined;
    return `it asks for cpu ${cpu}, more than the ${this.total} cores this machine shares out; lower the function's cpu option, or run it on a node with more (stubrun worker --cpus)`;
  }

  /** `worker` holds `cpu` until `release`. */
  take(worker: object, cpu: number | undefined): void {
    if (cpu === undefined) return;
    this.held.set(worker, cpu);
    this.used += cpu;
  }

  /** The worker has gone: its share is free again. */
  release(worker: object): void {
    const cpu = this.held.get(worker);
    if (cpu === undefined) return;
    this.held.delete(worker);
    this.used = this.held.size === 0 ? 0 : this.used - cpu; // no float drift left once all are gone
  }

  /** `pool` has calls waiting for cores (true), or no longer (false). */
  wait(pool: P, waiting: boolean): void {
    if (waiting) this.waiting.add(pool);
    else this.waiting.delete(pool);
  }

  /** Whether a pool other than `pool` waits for cores (pools with nothing left waiting are dropped). */
  otherWaits(pool: P): boolean {
    for (const other of this.waiting) {
      if (other.stopped || other.queued === 0) this.waiting.delete(other);
      else if (other !== pool) return true;
    }
    return false;
  }

  /** The pools waiting for cores, taken out (each waits again if it still does not fit). */
  takeWaiting(): P[] {
    const pools = [...this.waiting];
    this.waiting.clear();
    return pools.filter((p) => !p.stopped);
  }

  /**
   * Which of `idle` workers (of other functions, holding cores) to let go so `cpu` fits once
   * they and the ones `leaving` already have exited: the fewest, in order.
   */
  toFree(cpu: number, idle: object[], leaving: object[]): object[] {
    let free = this.total - this.used + leaving.reduce((sum, w) => sum + (this.held.get(w) ?? 0), 0);
    const chosen: object[] = [];
    for (const worker of idle) {
      if (free + EPSILON >= cpu) break;
      const share = this.held.get(worker);
      if (share === undefined) continue;
      chosen.push(worker);
      free += share;
    }
    return chosen;
  }

  /** The cores held now (for the apps page and tests). */
  get inUse(): number {
    return this.used;
  }
}

/** `STUBRUN_CPUS` (cores to share out, e.g. to leave some to other work), else os.availableParallelism(). */
export function coresFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.STUBRUN_CPUS;
  if (value === undefined || value === "") return os.availableParallelism();
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new UsageError(`STUBRUN_CPUS must be a number of cores above 0, got ${JSON.stringify(value)}`);
  return n;
}
