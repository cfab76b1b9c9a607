import type { WorkerConfig } from "@stubrun/protocol";
import type { ChildProcess } from "node:child_process";
import type { SandboxesAhead } from "../sandbox/sandboxes-ahead";
import type { WorkerLaunch } from "../sandbox/worker-sandbox";
import { guard } from "./guard";
import { killProcessTree } from "./process-tree";
import { ChildWorkerProcess, spawnWorker, type PrestartedProcess, type WorkerFactory } from "./worker-process";

/** One worker started ahead, not yet taken. */
interface Idle {
  child: ChildProcess;
  memoryMb: number;
  /** Its sandbox's slot, when it runs in one (SandboxesAhead). */
  slot?: string;
  onExit: () => void;
  onError: () => void;
}

/** How long after a worker was taken its replacement starts: a burst of cold starts does not pay for it meanwhile. */
const REFILL_DELAY_MS = 250;

/**
 * Environment variables Node reads only when it starts (its options, its module paths, libuv's
 * thread pool): a function whose environment sets one gets a worker started for it.
 */
const READ_AT_START = /^(NODE_|UV_)/;

/**
 * Worker processes started ahead (`limits.prestartedWorkers`): Node and stubrun's runtime loaded,
 * no user code. A cold start takes one and sends it `load` (the function's code, its
 * environment), which skips Node's own start and the runtime's loading: most of a cold start.
 *
 * They have the server's basic environment only (no app's), and the heap limit they were started
 * with (`--max-old-space-size` is fixed at start): a worker of another limit, or whose environment
 * sets what Node reads at start, is started for its function as before. A taken worker is
 * replaced a moment later.
 *
 * On a sandboxed server they are sandboxes started ahead (`ahead`): the function's code is
 * mounted into the one taken before it is told to load it. A function whose sandbox differs
 * (Volumes, `network: false`) gets one started for it.
 */
export class PrestartedWorkers {
  private readonly idle: Idle[] = [];
  private refill: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly size: number,
    /** The heap limit workers start with now (`limits.workerMemoryMb`). */
    private readonly memoryMb: () => number,
    /** The environment they start with: the basics every worker has (PATH, HOME, LANG, TZ). */
    private readonly basics: NodeJS.ProcessEnv,
    /** On a sandboxed server: the sandboxes they run in. */
    private readonly ahead?: SandboxesAhead,
  ) {
    // Not in the server's own start: it listens first.
    this.refill = setTimeout(
      guard("the start of prestarted workers", () => {
        this.refill = undefined;
        this.fill();
      }),
      0,
    );
    this.refill.unref();
  }

  /** Workers started ahead and not yet taken. */
  get count(): number {
    return this.idle.length;
  }

  /**
   * A live worker started with this heap limit that can serve a worker of `config` with this
   * environment, to be launched as `launch`; undefined when there is none.
   */
  take(memoryMb: number, env: NodeJS.ProcessEnv, config: WorkerConfig, launch: WorkerLaunch | undefined): PrestartedProcess | undefined {
    if (Object.keys(env).some((key) => READ_AT_START.test(key))) return undefined;
    // Their mount namespace is gone (its holder was killed): they can never get code, so they go.
    if (this.ahead && !this.ahead.alive && !this.closed) this.close();
    // A plain one cannot be a sandboxed worker, and a sandbox only a worker of the same kind of sandbox.
    if (this.ahead ? !this.ahead.canServe(config, launch) : launch !== undefined) return undefined;
    // The oldest first: the likeliest to have its runtime loaded.
    for (let i = 0; i < this.idle.length; i++) {
      const { child, memoryMb: limit, slot, onExit, onError } = this.idle[i];
      if (limit !== memoryMb || !alive(child)) continue;
      this.idle.splice(i, 1);
      child.off("exit", onExit);
      child.off("error", onError);
      this.scheduleRefill();
      if (slot === undefined || !this.ahead) return { child };
      const ahead = this.ahead;
      child.once("exit", () => ahead.release(slot));
      return { child, ready: ahead.prepare(slot, config) };
    }
    return undefined;
  }

  /** A WorkerFactory that uses a worker started ahead when it can, and starts one otherwise. */
  factory(): WorkerFactory {
    // A worker with a cgroup (a memory or cpu option) must be in it from its start: never one started ahead.
    return (config, env, events, options) => new ChildWorkerProcess(config, env, events, options, options.cgroup ? undefined : this.take(options.memoryMb, env, config, options.launch));
  }

  /** Kills the workers started ahead and starts no more. */
  close(): void {
    this.closed = true;
    if (this.refill) clearTimeout(this.refill);
    for (const { child } of this.idle.splice(0)) if (child.pid !== undefined) killProcessTree(child.pid);
  }

  /** Whether taken workers wait to be replaced (holdRefill). */
  private held = false;

  /**
   * Holds the replacement of taken workers while `held`: a worker node whose slots are all busy
   * (no cold start comes before one frees, and starting Node processes would take the cores from
   * the calls running). Released, the missing ones start REFILL_DELAY_MS later.
   */
  holdRefill(held: boolean): void {
    this.held = held;
    if (!held && this.idle.length < this.size) this.scheduleRefill();
  }

  private scheduleRefill(): void {
    if (this.refill || this.closed) return;
    this.refill = setTimeout(
      guard("the refill of prestarted workers", () => {
        this.refill = undefined;
        if (!this.held) this.fill();
      }),
      REFILL_DELAY_MS,
    );
    this.refill.unref();
  }

  private fill(): void {
    if (this.closed || (this.ahead && !this.ahead.alive)) return;
    const memoryMb = this.memoryMb();
    // Workers of an old limit (a node took its server's) make room for ones of the current one.
    for (const stale of this.idle.filter((w) => w.memoryMb !== memoryMb)) this.drop(stale.child);
    while (this.idle.length < this.size) {
      // Started in / so they hold no folder; `load` moves them to the code's.
      const sandboxed = this.ahead?.launch(memoryMb);
      const child = spawnWorker({ ...this.basics }, "/", memoryMb, sandboxed?.launch);
      // Their output before `load` is Node's own (a warning at most): not read, never a call's.
      child.stdout?.on("error", () => {});
      child.stderr?.on("error", () => {});
      const onError = () => this.drop(child);
      const onExit = guard("the exit of a prestarted worker", () => {
        // One that died on its own (killed from outside) is replaced, later: it may keep dying.
        this.drop(child);
        this.scheduleRefill();
      });
      child.once("error", onError);
      child.once("exit", onExit);
      this.idle.push({ child, memoryMb, onExit, onError, ...(sandboxed ? { slot: sandboxed.slot } : {}) });
    }
  }

  private drop(child: ChildProcess): void {
    const at = this.idle.findIndex((w) => w.child === child);
    const slot = at >= 0 ? this.idle[at].slot : undefined;
    if (at >= 0) this.idle.splice(at, 1);
    if (alive(child) && child.pid !== undefined) killProcessTree(child.pid);
    if (slot !== undefined) this.ahead?.release(slot);
  }
}

function alive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null && child.connected;
}
