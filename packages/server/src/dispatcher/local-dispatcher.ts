import {
  CallCancelledError,
  FunctionTimeoutError,
  RequestRefusedError,
  systemWireError,
  UncarriableValueError,
  WorkerCrashedError,
  WorkerStartError,
  type FromWorkerMessage,
  type FunctionManifest,
  type WireError,
} from "@stubrun/protocol";
import { DEFAULT_LIMITS, type ServerLimits } from "../config/limits";
import type { WorkerSummary } from "@stubrun/protocol";
import type { CallObserver, CallOutcome, CallRequest, Dispatcher } from "./dispatcher";
import { newPool, poolKey, withFrames, type Call, type CallState, type Pool, type WorkerInfo } from "./dispatch-state";
import { guard } from "./guard";
import { residentBytes } from "./process-memory";
import { startTimer } from "./long-timer";
import { OutputBudget } from "./output-budget";
import { Prefetch, SAMPLE_WAIT_MS } from "./prefetch";
import { WARM_BACKOFF_MAX_MS } from "./warm-backoff";
import { forkWorker, type WorkerEvents, type WorkerFactory, type WorkerProcess } from "./worker-process";
import { capacityOf, WorkerSlots } from "./worker-slots";
import type { WorkerSandbox } from "../sandbox/worker-sandbox";
import type { ResourceCgroups } from "../sandbox/memory-cgroup";
import { CpuBudget } from "./cpu-budget";

/** How long exit hooks may run when a worker is shut down. */
const EXIT_GRACE_MS = 3_000;

/** The limits the dispatcher enforces. */
export type DispatcherLimits = Pick<ServerLimits, "maxWorkers" | "maxQueuedCallsPerApp" | "workerMemoryMb" | "maxOutputBytesOutsideCalls">;

/** What a LocalDispatcher needs besides its two callbacks. */
export interface LocalDispatcherOptions {
  /** @default DEFAULT_LIMITS */
  limits?: DispatcherLimits;
  /** Writes a line of stubrun's own in an app's logs. @default none */
  note?: (appId: string, line: string) => void;
  /** Starts a worker. @default forkWorker (a real child process) */
  startWorker?: WorkerFactory;
  /** The folder of the function's built image, if it has one (its packages resolve from there). @default none */
  imageDirOf?: (fn: FunctionManifest) => string | undefined;
  /** Where workers run isolated (STUBRUN_SANDBOX); without, as plain processes. @default none */
  sandbox?: WorkerSandbox;
  /** Where workers with `memory` or `cpu` get a cgroup of their own (`ResourceCgroups.detect`). @default none: the heap cap only */
  cgroups?: ResourceCgroups;
  /** The cores shared out among workers with a `cpu` option. @default os.availableParallelism() */
  cpus?: number;
}

/**
 * The embedded dispatcher: a queue per function, served by a pool of local worker processes
 * (at most `concurrencyLimit` per function and `limits.maxWorkers` in all), with per-attempt
 * timeouts, retries with backoff, and cancel.
 */
export class LocalDispatcher implements Dispatcher {
  private readonly pools = new Map<string, Pool>();
  private readonly calls = new Map<string, Call>();
  private readonly workers = new Map<WorkerProcess, WorkerInfo>();
  /** The calls each worker runs now (up to its function's `concurrentInputs`). */
  private readonly slots = new WorkerSlots();
  /** Calls queued or waiting to retry, per app (`limits.maxQueuedCallsPerApp`). */
  private readonly waitingByApp = new Map<string, number>();
  /** Pools that want a worker while every slot of `limits.maxWorkers` is taken, oldest first. */
  private readonly wantSlot = new Set<Pool>();
  /** Pools short of keepWarm workers for want of a slot; they come after calls. */
  private readonly wantWarm = new Set<Pool>();
  private limits: DispatcherLimits;
  private readonly startWorkerProcess: WorkerFactory;
  /** The cores held by running workers of functions with a `cpu` option. */
  private readonly cpu: CpuBudget<Pool>;
  private workerSeq = 0;
  /** Calls sent to busy workers ahead of time (short calls only). */
  private readonly prefetch = new Prefetch();

  constructor(
    private readonly workerEnv: (appId: string, fn: FunctionManifest) => NodeJS.ProcessEnv,
    /** Output a worker wrote outside any call (its enter and exit hooks). */
    private readonly workerOutput: (appId: string, functionName: string, stream: "stdout" | "stderr", data: string) => void,
    private readonly options: LocalDispatcherOptions = {},
  ) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.startWorkerProcess = options.startWorker ?? forkWorker;
    this.cpu = new CpuBudget(options.cpus);
  }

  /** Replaces the limits (a worker node takes its server's); what starts from now on follows them. */
  setLimits(limits: DispatcherLimits): void {
    this.limits = limits;
  }

  /** Refuses a new call of an app whose queue is full; nothing is recorded for it. */
  admit(appId: string): void {
    const waiting = this.waitingByApp.get(appId) ?? 0;
    const max = this.limits.maxQueuedCallsPerApp;
    if (waiting >= max) {
      throw new RequestRefusedError(
        `the call was refused: app ${appId} already has ${waiting} calls waiting for a worker, the most the server allows (limits.maxQueuedCallsPerApp = ${max}); ` +
          `wait for some to finish, or raise it in $STUBRUN_HOME/config.json: { "limits": { "maxQueuedCallsPerApp": ${max * 2} } }`,
      );
    }
  }

  enqueue(request: CallRequest, observer: CallObserver): void {
    const call: Call = { request, observer, attempt: 0, state: "done" };
    this.calls.set(request.callId, call);
    this.submit(call);
  }

  cancel(callId: string, reason = "the call was cancelled"): boolean {
    const call = this.calls.get(callId);
    if (!call || call.state === "done") return false;
    const error = systemWireError(new CallCancelledError(reason));
    const worker = call.state === "running" ? call.worker : undefined;
    // Sent ahead and not started yet: the worker drops it and goes on with its current call.
    const ahead = worker !== undefined && this.prefetch.remove(worker, call);
    this.finish(call, { state: "cancelled", error });
    if (worker && ahead) worker.drop?.(callId);
    else if (worker) this.leave(worker, callId);
    return true;
  }

  keepWarm(appId: string, fn: CallRequest["fn"], code: CallRequest["code"]): void {
    this.topUpWarm(this.poolFor({ callId: "", appId, fn, code, args: [] }));
  }

  retire(appId: string, codeDir: string): void {
    for (const pool of [...this.pools.values()]) {
      if (pool.appId !== appId || pool.code.dir !== codeDir) continue;
      pool.retiring = true;
      pool.warmRetry?.cancel();
      this.pools.delete(pool.key); // new calls get a fresh pool, even for the same code
      for (const worker of pool.workers) if (worker.state === "idle" && pool.queued === 0) void this.stopWorker(worker);
    }
  }

  async stopApp(appId: string): Promise<void> {
    for (const call of [...this.calls.values()]) {
      if (call.request.appId === appId) this.cancel(call.request.callId, "the call was cancelled because its app was stopped");
    }
    const exits: Promise<void>[] = [];
    // Retiring pools are no longer in `pools`, but their workers still count.
    for (const pool of this.allPools()) {
      if (pool.appId !== appId) continue;
      pool.stopped = true;
      pool.warmRetry?.cancel();
      this.wantSlot.delete(pool);
      this.wantWarm.delete(pool);
      for (const worker of pool.workers) exits.push(this.stopWorker(worker));
      this.pools.delete(pool.key);
    }
    await Promise.all(exits);
  }

  runningTasks(appId: string): number {
    let n = 0;
    for (const info of this.workers.values()) if (info.pool.appId === appId) n++;
    return n;
  }

  workersOf(appId: string): WorkerSummary[] {
    const list: WorkerSummary[] = [];
    for (const [worker, info] of this.workers) {
      if (info.pool.appId !== appId) continue;
      const pid = (worker as { pid?: number }).pid;
      list.push({
        id: worker.id,
        functionName: info.pool.fn.name,
        state: worker.state,
        callsServed: info.callsServed,
        startedAt: new Date(info.startedAt).toISOString(),
        memoryBytes: pid === undefined ? null : residentBytes(pid),
        // The call it runs (the first of them, with concurrent inputs).
        callId: this.slots.callsOf(worker)[0] ?? null,
      });
    }
    return list;
  }

  async close(): Promise<void> {
    const appIds = new Set([...this.allPools()].map((p) => p.appId));
    await Promise.all([...appIds].map((id) => this.stopApp(id)));
    this.options.cgroups?.close();
  }

  private allPools(): Set<Pool> {
    return new Set([...this.pools.values(), ...[...this.workers.values()].map((info) => info.pool)]);
  }

  /** Moves a call to another state, keeping the counts of waiting calls right. */
  private setState(call: Call, state: CallState): void {
    const waitingBefore = call.state === "queued" || call.state === "waiting-retry";
    const waitingAfter = state === "queued" || state === "waiting-retry";
    if (call.state === "queued" && call.pool) call.pool.queued--;
    if (state === "queued" && call.pool) call.pool.queued++;
    if (waitingBefore !== waitingAfter) {
      const appId = call.request.appId;
      const n = (this.waitingByApp.get(appId) ?? 0) + (waitingAfter ? 1 : -1);
      if (n > 0) this.waitingByApp.set(appId, n);
      else this.waitingByApp.delete(appId);
    }
    call.state = state;
  }

  private submit(call: Call): void {
    call.attempt++;
    call.observer.attempt?.(call.attempt);
    const pool = this.poolFor(call.request);
    this.setState(call, "done"); // leaves the old pool's count, if any
    call.pool = pool;
    this.setState(call, "queued");
    pool.queue.push(call);
    this.pump(pool);
  }

  private poolFor(request: CallRequest): Pool {
    let pool = this.pools.get(poolKey(request));
    if (!pool) {
      pool = newPool(request);
      this.pools.set(pool.key, pool);
    }
    return pool;
  }


  /** The next call waiting in the pool's queue (cancelled ones are skipped). */
  private takeNext(pool: Pool): Call | undefined {
    let call = pool.queue.shift();
    while (call && call.state !== "queued") call = pool.queue.shift();
    return call;
  }

  /**
   * Gives waiting calls to idle workers, and starts workers while the queue outgrows those
   * starting: within `concurrencyLimit`, within the free slots of `maxWorkers` (idle workers of
   * other functions are let go to make room), and one at a time until a worker was ever ready.
   */
  private pump(pool: Pool): void {
    for (const worker of pool.workers) {
      if (pool.queued === 0) break;
      this.fill(worker, pool);
    }
    if (pool.stopped) return;
    let starting = 0;
    for (const worker of pool.workers) if (worker.state === "starting") starting++;
    // A starting worker will take `capacity` of the waiting calls.
    const capacity = capacityOf(pool.fn);
    let wanted = Math.min(Math.ceil((pool.queued - starting * capacity) / capacity), pool.fn.options.concurrencyLimit - pool.workers.size);
    if (!pool.everReady) wanted = Math.min(wanted, 1 - starting);
    else if (wanted > 0) wanted = Math.min(wanted, this.capByCallLength(pool));
    // A function with a cpu option also waits for its share of the cores (see cpu-budget.ts).
    while (wanted > 0 && this.workers.size < this.limits.maxWorkers && this.cpu.fits(pool.fn.options.cpu)) {
      if (!this.startWorker(pool)) return;
      wanted--;
    }
    const cpuShort = wanted > 0 && this.workers.size < this.limits.maxWorkers;
    this.cpu.wait(pool, cpuShort);
    if (cpuShort) {
      this.wantSlot.delete(pool);
      this.freeCpu(pool);
    } else if (wanted > 0) {
      this.wantSlot.add(pool);
      this.evictIdle(pool, wanted);
    } else {
      this.wantSlot.delete(pool);
    }
    if (pool.queued > 0 && starting === 0) for (const worker of pool.workers) this.sendAhead(worker, pool);
  }

  /**
   * Sends a busy worker of a pool of short calls its next calls, up to the depth they allow;
   * not while a worker of the pool is starting (the calls wait for it).
   */
  private sendAhead(worker: WorkerProcess, pool: Pool): void {
    // A worker of concurrent inputs takes its next calls as slots free, not ahead.
    if (worker.state !== "busy" || !worker.prefetch || pool.stopped || pool.queued === 0 || capacityOf(pool.fn) > 1) return;
    for (const other of pool.workers) if (other.state === "starting") return;
    const depth = this.prefetch.depth(pool);
    for (let held = this.prefetch.held(worker); held < depth && pool.queued > 0; held++) {
      const call = this.takeNext(pool);
      if (!call) return;
      worker.prefetch(call.request.callId, call.request.args);
      this.setState(call, "running"); // on its worker, whose queue it waits in; its timeout starts with it
      call.worker = worker;
      this.prefetch.add(worker, call);
    }
  }

  /**
   * How many more workers the length of the pool's calls allows (prefetch.ts): none more than
   * cores for very short calls, and none while its first calls are measured (it looks again after).
   */
  private capByCallLength(pool: Pool): number {
    // Workers that cannot hold calls ahead (tests' fakes) start as the queue asks.
    for (const worker of pool.workers) if (!worker.prefetch) return Infinity;
    const { cap, wait } = this.prefetch.workerCap(pool);
    if (wait && !pool.sampleTimer) {
      pool.sampleTimer = startTimer(
        SAMPLE_WAIT_MS,
        guard("the dispatcher's look at call lengths", () => {
          pool.sampleTimer = undefined;
          if (!pool.stopped) this.pump(pool);
        }),
        { unref: true },
      );
    }
    return Math.max(0, cap - pool.workers.size);
  }

  /** Lets idle workers of other functions go, so `needed` workers of `pool` can start once they exit. */
  private evictIdle(pool: Pool, needed: number): void {
    let freeing = 0;
    for (const [worker, info] of this.workers) if (worker.state === "stopping" || info.stopRequested) freeing++;
    for (const [worker, info] of this.workers) {
      if (freeing >= needed) return;
      if (info.pool === pool || worker.state !== "idle") continue;
      void this.stopWorker(worker);
      freeing++;
    }
  }

  /** Lets idle workers of other functions that hold cores go, so one more of `pool` fits once they exit. */
  private freeCpu(pool: Pool): void {
    const idle: WorkerProcess[] = [];
    const leaving: WorkerProcess[] = [];
    for (const [worker, info] of this.workers) {
      if (worker.state === "stopping" || info.stopRequested) leaving.push(worker);
      else if (info.pool !== pool && worker.state === "idle") idle.push(worker);
    }
    for (const worker of this.cpu.toFree(pool.fn.options.cpu ?? 0, idle, leaving)) void this.stopWorker(worker as WorkerProcess);
  }

  /** Whether a pool other than `pool` has calls waiting for a slot (pools with none left are dropped). */
  private otherPoolWantsSlot(pool: Pool): boolean {
    for (const other of this.wantSlot) {
      if (other.stopped || other.queued === 0) this.wantSlot.delete(other);
      else if (other !== pool) return true;
    }
    return false;
  }

  /** Pools waiting for a slot get the slots that came free, oldest first; calls before keepWarm. */
  private pumpWaiting(): void {
    for (const pool of this.cpu.takeWaiting()) this.pump(pool); // cores came free
    for (const pool of [...this.wantSlot]) {
      if (this.workers.size >= this.limits.maxWorkers) return;
      this.wantSlot.delete(pool);
      if (!pool.stopped) this.pump(pool);
    }
    for (const pool of [...this.wantWarm]) {
      if (this.workers.size >= this.limits.maxWorkers) return;
      this.wantWarm.delete(pool);
      this.topUpWarm(pool);
    }
  }

  /** Keeps `keepWarm` workers alive, replacing any that exit (with a backoff after failures). */
  private topUpWarm(pool: Pool): void {
    if (pool.stopped || pool.retiring || pool.warmRetry) return;
    const keep = Math.min(pool.fn.options.keepWarm, pool.fn.options.concurrencyLimit);
    // Until one worker was ready, one at a time: code that cannot start costs one worker, not `keep`.
    const target = pool.everReady ? keep : Math.min(keep, 1);
    while (pool.workers.size < target && this.workers.size < this.limits.maxWorkers && this.cpu.fits(pool.fn.options.cpu)) if (!this.startWorker(pool)) break;
    if (pool.workers.size < target) this.wantWarm.add(pool);
  }

  /**
   * Starts a worker of the pool; false when it cannot start (its environment cannot be made, a
   * named secret was deleted; it needs a sandbox this server lacks): its waiting calls fail.
   */
  private startWorker(pool: Pool): boolean {
    const { fn, code } = pool;
    const { sandbox } = this.options;
    let env: NodeJS.ProcessEnv;
    try {
      if (fn.options.network === false && !sandbox) {
        throw new Error("it has network: false, which only a sandboxed worker can keep to, and this server runs workers without a sandbox (install bubblewrap, and leave STUBRUN_SANDBOX unset or set it to on)");
      }
      const tooMuchCpu = this.cpu.tooMuch(fn.options.cpu);
      if (tooMuchCpu) throw new Error(tooMuchCpu);
      if ((fn.options.volumes?.length ?? 0) > 0 && !sandbox) {
        throw new Error(`it mounts Volumes (${fn.options.volumes!.map((v) => v.path).join(", ")}), which only a sandboxed worker can have at their paths, and this server runs workers without a sandbox (install bubblewrap, and leave STUBRUN_SANDBOX unset or set it to on)`);
      }
      env = this.workerEnv(pool.appId, fn);
    } catch (cause) {
      const error = systemWireError(new WorkerStartError(`the worker for ${fn.name} cannot start: ${(cause as Error).message}`));
      // On the next turn: a call failed inside enqueue would reach its client before the call's id does.
      setImmediate(guard("the dispatcher's failed worker start", () => this.failStart(pool, error)));
      return false;
    }
    const workerId = `wk-${process.pid.toString(36)}-${(++this.workerSeq).toString(36)}`;
    let cgroup;
    try {
      cgroup = this.options.cgroups?.forWorker(workerId, fn.options.memory, fn.options.cpu);
    } catch (cause) {
      const error = systemWireError(new WorkerStartError(`the worker for ${fn.name} cannot start: ${(cause as Error).message}`));
      setImmediate(guard("the dispatcher's failed worker start", () => this.failStart(pool, error)));
      return false;
    }
    const events: WorkerEvents = {
      message: (worker, message) => this.onMessage(worker, message),
      rawOutput: (worker, stream, data) => this.onRawOutput(worker, stream, data),
      exit: (worker, description) => this.onExit(worker, description),
    };
    const imageDir = this.options.imageDirOf?.(fn);
    const config = {
      workerId,
      codeDir: code.dir,
      entry: code.entry,
      className: fn.className,
      methodName: fn.methodName,
      ...(imageDir ? { imageDir } : {}),
      ...(pool.params ? { params: pool.params } : {}),
      ...(capacityOf(fn) > 1 ? { concurrentInputs: capacityOf(fn) } : {}),
      ...(fn.options.volumes?.length ? { volumes: fn.options.volumes } : {}),
    };
    const memoryMb = fn.options.memory ?? this.limits.workerMemoryMb;
    const launch = sandbox?.launch(config, memoryMb, fn.options.network !== false);
    const worker = this.startWorkerProcess(config, env, events, { memoryMb, ...(launch ? { launch } : {}), ...(cgroup ? { cgroup } : {}) });
    this.cpu.take(worker, fn.options.cpu);
    if (launch?.cleanup) void worker.exited.then(launch.cleanup);
    const max = this.limits.maxOutputBytesOutsideCalls;
    const note = `\nstubrun: worker ${workerId} of ${fn.name} wrote more than ${max} bytes outside its calls (limits.maxOutputBytesOutsideCalls); the rest of that output is dropped\n`;
    pool.workers.add(worker);
    this.workers.set(worker, { pool, startedAt: Date.now(), callsServed: 0, stopRequested: false, outside: new OutputBudget(max, note) });
    return true;
  }

  /** Gives a ready worker waiting calls while it has free slots (not a draining one: it takes no more). */
  private fill(worker: WorkerProcess, pool: Pool): void {
    if (this.workers.get(worker)?.draining) return;
    const capacity = capacityOf(pool.fn);
    while (pool.queued > 0 && this.slots.hasRoom(worker, capacity) && this.serveNext(worker, pool));
  }

  /** Runs the next waiting call on a worker with a free slot; false when none is waiting. */
  private serveNext(worker: WorkerProcess, pool: Pool): boolean {
    for (let call = this.takeNext(pool); call; call = this.takeNext(pool)) {
      if (this.runOn(worker, call)) return true;
    }
    return false;
  }

  /** Sends a call to a worker; false (and the call failed) when it cannot be sent. */
  private runOn(worker: WorkerProcess, call: Call): boolean {
    try {
      worker.run(call.request.callId, call.request.args);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const refused = new UncarriableValueError(`${call.request.fn.name}: the call's arguments could not be sent to its worker (${reason}); pass smaller or less deeply nested values`);
      this.finish(call, { state: "failed", error: systemWireError(refused) });
      return false;
    }
    this.began(worker, call);
    return true;
  }

  /** A call began on its worker: its timeout starts. */
  private began(worker: WorkerProcess, call: Call): void {
    this.setState(call, "running");
    call.worker = worker;
    this.slots.add(worker, call.request.callId);
    this.prefetch.began(call);
    // Its idle timer, if armed, stays: it looks again when it fires (worker.idleSince).
    const seconds = call.request.fn.options.timeout;
    call.timeoutTimer = startTimer(
      seconds * 1000,
      guard("the dispatcher's call timeout", () => {
        const error = new FunctionTimeoutError(`${call.request.fn.name} timed out after ${seconds} s (its timeout option)`);
        call.worker = undefined;
        this.leave(worker, call.request.callId);
        this.failAttempt(call, systemWireError(error), "timed_out");
      }),
    );
  }

  private onMessage(worker: WorkerProcess, message: FromWorkerMessage): void {
    const info = this.workers.get(worker);
    if (!info) return;
    const pool = info.pool;
    switch (message.type) {
      case "ready":
        if (worker.state !== "starting") return; // said twice, or too late
        worker.state = "idle";
        pool.everReady = true;
        this.becomeIdle(worker, pool);
        // Now that the code is known to start: the workers its queue and keepWarm want.
        this.pump(pool);
        this.topUpWarm(pool);
        return;
      case "start-failed": {
        if (worker.everReady || worker.startFailureReported) return;
        worker.state = "stopping"; // never reused; it exits by itself.
        worker.startFailureReported = true;
        const error = new WorkerStartError(`the worker for ${pool.fn.name} failed to start: ${message.error.name}: ${message.error.message}`);
        this.failStart(pool, { ...systemWireError(error), stack: withFrames(error, message.error.stack) });
        return;
      }
      case "output": {
        const call = message.callId === null ? undefined : this.calls.get(message.callId);
        if (call && call.worker === worker) call.observer.output(message.stream, message.data);
        // Outside calls, or of a call that ended here already (timed out or cancelled on a shared worker): the worker's log.
        else this.outsideOutput(info, message.stream, message.data);
        return;
      }
      case "yield": {
        const call = this.calls.get(message.callId);
        if (call && call.worker === worker && call.state === "running") call.observer.yield?.(message.value);
        return;
      }
      case "done": {
        const call = this.calls.get(message.callId);
        if (!this.slots.remove(worker, message.callId)) return; // not a call it runs: ignored
        info.callsServed++;
        pool.warmBackoff.reset();
        if (call && call.worker === worker && call.state === "running") {
          this.prefetch.ended(call, pool, message.ms);
          if (message.ok) this.finish(call, { state: "succeeded", value: message.value });
          else this.failAttempt(call, message.error, "failed");
        }
        if (info.draining) {
          if (this.slots.count(worker) === 0) this.killWorker(worker);
          return;
        }
        // The worker starts the next call it was sent ahead, if any, by itself.
        const next = this.slots.count(worker) === 0 ? this.prefetch.next(worker) : undefined;
        if (next) this.began(worker, next);
        else this.becomeIdle(worker, pool);
        this.sendAhead(worker, pool);
        return;
      }
    }
  }

  private onRawOutput(worker: WorkerProcess, stream: "stdout" | "stderr", data: string): void {
    // Raw file descriptor output has no call id: it is a call's only while that call runs alone on the worker.
    const running = this.slots.callsOf(worker);
    const call = running.length === 1 ? this.calls.get(running[0]) : undefined;
    const info = this.workers.get(worker);
    if (call && call.worker === worker) call.observer.output(stream, data);
    else if (info) this.outsideOutput(info, stream, data);
  }

  /** Output outside any call goes to the app's logs, up to `limits.maxOutputBytesOutsideCalls` per worker. */
  private outsideOutput(info: WorkerInfo, stream: "stdout" | "stderr", data: string): void {
    const pieces = info.outside.take(data);
    pieces.forEach((piece, i) => this.workerOutput(info.pool.appId, info.pool.fn.name, i === 1 ? "stderr" : stream, piece));
  }

  private onExit(worker: WorkerProcess, description: string): void {
    const info = this.workers.get(worker);
    this.workers.delete(worker);
    this.cpu.release(worker);
    if (!info) return;
    const pool = info.pool;
    pool.workers.delete(worker);
    info.idleTimer?.cancel();
    // Calls it was sent ahead and never started go back to the front of the queue, no attempt spent.
    for (const ahead of this.prefetch.release(worker).reverse()) {
      if (ahead.state !== "running" || ahead.worker !== worker) continue;
      ahead.worker = undefined;
      this.setState(ahead, "queued");
      pool.queue.unshift(ahead);
    }
    const running = this.slots
      .forget(worker)
      .map((id) => this.calls.get(id))
      .filter((call): call is Call => call !== undefined && call.state === "running" && call.worker === worker);
    for (const call of running) {
      const error = new WorkerCrashedError(`${call.request.fn.name}: the worker ${overMemory(pool.fn, worker, "while running the call") ?? `exited with ${description} while running the call`}`);
      this.failAttempt(call, systemWireError(error), "failed");
    }
    if (running.length === 0 && !worker.everReady && !worker.startFailureReported && !info.stopRequested) {
      const error = new WorkerStartError(`the worker for ${pool.fn.name} ${overMemory(pool.fn, worker, "before it was ready") ?? `exited with ${description} before it was ready`}`);
      // A signal came from outside (a kill, the OOM killer): only the call that waited for this worker pays.
      this.failStart(pool, systemWireError(error), description.startsWith("signal") ? "first" : "all");
    }
    this.pumpWaiting(); // a slot came free
    if (pool.stopped) return;
    if (!info.stopRequested) this.noteWarmFailure(pool, info);
    this.pump(pool);
    this.topUpWarm(pool);
    const empty = pool.workers.size === 0 && pool.queued === 0 && (pool.fn.options.keepWarm === 0 || pool.retiring);
    if (empty && this.pools.get(pool.key) === pool) this.pools.delete(pool.key);
  }

  /**
   * A worker could not start. While the pool never had a ready worker, and the failure is the
   * code's own (it threw on import, an enter hook failed, it exited by itself), every waiting call
   * fails with that error (each still retried per its policy), rather than one worker being
   * started per call; otherwise only the call that waited for this worker.
   */
  private failStart(pool: Pool, error: WireError, whom: "first" | "all" = "all"): void {
    const failing: Call[] = [];
    const all = whom === "all" && !pool.everReady;
    for (let call = this.takeNext(pool); call; call = all ? this.takeNext(pool) : undefined) failing.push(call);
    for (const call of failing) this.failAttempt(call, error, "failed");
  }

  /** A keepWarm worker died on its own: its replacement waits, longer after each failure in a row. */
  private noteWarmFailure(pool: Pool, info: WorkerInfo): void {
    if (pool.fn.options.keepWarm === 0 || pool.retiring) return;
    const { delayMs, note } = pool.warmBackoff.failed(Date.now() - info.startedAt);
    if (note) this.options.note?.(pool.appId, `keepWarm workers of ${pool.fn.name} keep exiting; they are restarted with a growing delay (up to ${WARM_BACKOFF_MAX_MS / 1000} s)`);
    pool.warmRetry?.cancel();
    pool.warmRetry = startTimer(
      delayMs,
      guard("the dispatcher's keepWarm restart", () => {
        pool.warmRetry = undefined;
        this.topUpWarm(pool);
      }),
      { unref: true },
    );
  }


  /** A worker became ready or finished a call: it takes waiting calls; one left with none goes, or waits idle. */
  private becomeIdle(worker: WorkerProcess, pool: Pool): void {
    worker.everReady = true;
    this.fill(worker, pool);
    if (worker.state !== "idle") return;
    if (pool.retiring) return void this.stopWorker(worker);
    if (this.otherPoolWantsSlot(pool)) return void this.stopWorker(worker); // its slot goes to a function with calls waiting
    if (pool.fn.options.cpu !== undefined && this.cpu.otherWaits(pool)) return void this.stopWorker(worker); // and its cores
    worker.idleSince = Date.now();
    const info = this.workers.get(worker);
    if (info && !info.idleTimer) this.armIdleTimer(worker, info, pool, pool.fn.options.containerIdleTimeout * 1000);
  }

  /**
   * Lets the worker go once it has been idle `idleMs` (unless keepWarm needs it). One timer per
   * worker, not one per call it ends: when it fires, a worker that was busy meanwhile is given
   * the rest of its wait from when it last became idle.
   */
  private armIdleTimer(worker: WorkerProcess, info: WorkerInfo, pool: Pool, idleMs: number, ms = idleMs): void {
    info.idleTimer = startTimer(
      ms,
      guard("the dispatcher's idle timeout", () => {
        info.idleTimer = undefined;
        if (worker.state !== "idle") return; // busy now: becomeIdle arms it again
        const left = worker.idleSince + idleMs - Date.now();
        if (left > 0) return this.armIdleTimer(worker, info, pool, idleMs, left);
        const live = [...pool.workers].filter((w) => w.state === "idle" || w.state === "busy").length;
        if (live > pool.fn.options.keepWarm) void this.stopWorker(worker);
      }),
      { unref: true },
    );
  }

  private cancelIdleTimer(worker: WorkerProcess): void {
    const info = this.workers.get(worker);
    info?.idleTimer?.cancel();
    if (info) info.idleTimer = undefined;
  }

  /** Asks a worker to leave (its exit hooks run) and resolves once it has. */
  private stopWorker(worker: WorkerProcess): Promise<void> {
    const info = this.workers.get(worker);
    if (info) info.stopRequested = true;
    this.cancelIdleTimer(worker);
    worker.shutdown(EXIT_GRACE_MS);
    return worker.exited;
  }

  /**
   * A call left its worker early (it timed out, or was cancelled): its code may still be running
   * there, so the worker is not given another call. Alone on it, the worker is killed now; sharing
   * it (`concurrentInputs`), the worker drains: the other calls finish, then it is killed.
   */
  private leave(worker: WorkerProcess, callId: string): void {
    this.slots.remove(worker, callId);
    const info = this.workers.get(worker);
    if (this.slots.count(worker) === 0 || !info) return this.killWorker(worker);
    info.draining = true;
    this.cancelIdleTimer(worker);
  }

  private killWorker(worker: WorkerProcess): void {
    const info = this.workers.get(worker);
    if (info) info.stopRequested = true;
    // Until its exit arrives it must not look idle: a call given to it now would die with it.
    if (worker.state !== "exited") worker.state = "stopping";
    worker.kill();
  }

  private failAttempt(call: Call, error: WireError, state: "failed" | "timed_out" = "failed"): void {
    call.timeoutTimer?.cancel();
    call.worker = undefined;
    if (call.state === "done") return;
    const policy = call.request.fn.options.retries;
    if (call.attempt <= policy.maxRetries) {
      const delay = Math.min(policy.initialDelayMs * policy.backoffCoefficient ** (call.attempt - 1), policy.maxDelayMs);
      this.setState(call, "waiting-retry");
      call.observer.output("stderr", `stubrun: ${call.request.fn.name} attempt ${call.attempt} failed (${error.message}); retrying in ${delay} ms\n`);
      call.retryTimer = startTimer(delay, guard("the dispatcher's retry", () => call.state === "waiting-retry" && this.submit(call)));
      return;
    }
    this.finish(call, { state, error });
  }

  private finish(call: Call, outcome: CallOutcome): void {
    if (call.state === "done") return;
    this.setState(call, "done"); // a queued call stays in its queue, and is skipped when its turn comes
    call.timeoutTimer?.cancel();
    call.retryTimer?.cancel();
    call.worker = undefined;
    this.calls.delete(call.request.callId);
    call.observer.finished(outcome);
  }
}

/** "used more than its memory of 256 MiB (memory option) `when`, and was killed; ...", for a worker that died of its function's memory limit. */
function overMemory(fn: FunctionManifest, worker: WorkerProcess, when: string): string | undefined {
  if (fn.options.memory === undefined || !worker.overMemory) return undefined;
  return `used more than its memory of ${fn.options.memory} MiB (memory option) ${when}, and was killed; raise the function's memory, or make it use less`;
}
