import {
  CallCancelledError,
  FunctionTimeoutError,
  systemWireError,
  WorkerCrashedError,
  WorkerStartError,
  type FromWorkerMessage,
  type WireError,
} from "@stubrun/protocol";
import type { CallObserver, CallOutcome, CallRequest, Dispatcher } from "./dispatcher";
import { CallQueue } from "./call-queue";
import { WorkerProcess, type WorkerEvents } from "./worker-process";

/** How long exit hooks may run when a worker is shut down. */
const EXIT_GRACE_MS = 3_000;

interface Call {
  request: CallRequest;
  observer: CallObserver;
  attempt: number;
  state: "queued" | "running" | "waiting-retry" | "done";
  worker?: WorkerProcess;
  timeoutTimer?: NodeJS.Timeout;
  retryTimer?: NodeJS.Timeout;
}

/** The workers and waiting calls of one function of one app. */
interface Pool {
  key: string;
  appId: string;
  fn: CallRequest["fn"];
  code: CallRequest["code"];
  /** Set when its app stops: no worker is started or replaced any more. */
  stopped: boolean;
  /** Set when its app moved to other code: it serves what it has queued, then its workers go. */
  retiring: boolean;
  workers: Set<WorkerProcess>;
  queue: CallQueue<Call>;
}

/**
 * The embedded dispatcher: a queue per function, served by a pool of local worker processes
 * (at most `concurrencyLimit`), with per-attempt timeouts, retries with backoff, and cancel.
 */
export class LocalDispatcher implements Dispatcher {
  private readonly pools = new Map<string, Pool>();
  private readonly calls = new Map<string, Call>();
  private readonly poolOfWorker = new Map<WorkerProcess, Pool>();
  private workerSeq = 0;

  constructor(
    private readonly workerEnv: (appId: string) => NodeJS.ProcessEnv,
    /** Output a worker wrote outside any call (its enter and exit hooks). */
    private readonly workerOutput: (appId: string, functionName: string, stream: "stdout" | "stderr", data: string) => void,
  ) {}

  enqueue(request: CallRequest, observer: CallObserver): void {
    const call: Call = { request, observer, attempt: 0, state: "queued" };
    this.calls.set(request.callId, call);
    this.submit(call);
  }

  cancel(callId: string, reason = "the call was cancelled"): boolean {
    const call = this.calls.get(callId);
    if (!call || call.state === "done") return false;
    const error = systemWireError(new CallCancelledError(reason));
    if (call.state === "running" && call.worker) {
      const worker = call.worker;
      this.finish(call, { state: "cancelled", error });
      worker.kill();
    } else {
      this.finish(call, { state: "cancelled", error });
    }
    return true;
  }

  keepWarm(appId: string, fn: CallRequest["fn"], code: CallRequest["code"]): void {
    const pool = this.poolFor({ callId: "", appId, fn, code, args: [] });
    this.topUpWarm(pool);
  }

  retire(appId: string, codeDir: string): void {
    for (const pool of [...this.pools.values()]) {
      if (pool.appId !== appId || pool.code.dir !== codeDir) continue;
      pool.retiring = true;
      this.pools.delete(pool.key); // new calls get a fresh pool, even for the same code
      for (const worker of pool.workers) if (worker.state === "idle" && pool.queue.length === 0) void this.stopWorker(worker);
    }
  }

  async stopApp(appId: string): Promise<void> {
    for (const call of [...this.calls.values()]) {
      if (call.request.appId === appId) this.cancel(call.request.callId, "the call was cancelled because its app was stopped");
    }
    const exits: Promise<void>[] = [];
    // Retiring pools are no longer in `pools`, but their workers still count.
    for (const pool of new Set([...this.pools.values(), ...this.poolOfWorker.values()])) {
      if (pool.appId !== appId) continue;
      pool.stopped = true;
      for (const worker of pool.workers) exits.push(this.stopWorker(worker));
      this.pools.delete(pool.key);
    }
    await Promise.all(exits);
  }

  runningTasks(appId: string): number {
    let n = 0;
    for (const pool of this.poolOfWorker.values()) if (pool.appId === appId) n++;
    return n;
  }

  async close(): Promise<void> {
    const appIds = new Set([...this.pools.values(), ...this.poolOfWorker.values()].map((p) => p.appId));
    await Promise.all([...appIds].map((id) => this.stopApp(id)));
  }

  private submit(call: Call): void {
    call.attempt++;
    call.state = "queued";
    call.observer.attempt?.(call.attempt);
    const pool = this.poolFor(call.request);
    pool.queue.push(call);
    this.pump(pool);
  }

  private poolFor(request: CallRequest): Pool {
    const key = `${request.appId}\0${request.fn.name}\0${request.code.dir}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = { key, appId: request.appId, fn: request.fn, code: request.code, stopped: false, retiring: false, workers: new Set(), queue: new CallQueue() };
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** The next call waiting in the pool's queue (cancelled ones are skipped). */
  private takeNext(pool: Pool): Call | undefined {
    let call = pool.queue.shift();
    while (call && call.state !== "queued") call = pool.queue.shift();
    return call;
  }

  /** Gives waiting calls to idle workers, and starts workers while the queue outgrows those starting. */
  private pump(pool: Pool): void {
    for (const worker of pool.workers) {
      if (worker.state !== "idle") continue;
      const next = this.takeNext(pool);
      if (!next) break;
      this.runOn(worker, next);
    }
    const starting = [...pool.workers].filter((w) => w.state === "starting").length;
    let wanted = pool.queue.length - starting;
    while (wanted > 0 && pool.workers.size < pool.fn.options.concurrencyLimit) {
      this.startWorker(pool);
      wanted--;
    }
  }

  /** Keeps `keepWarm` workers alive, replacing any that exit. */
  private topUpWarm(pool: Pool): void {
    const { keepWarm, concurrencyLimit } = pool.fn.options;
    while (!pool.stopped && !pool.retiring && pool.workers.size < Math.min(keepWarm, concurrencyLimit)) this.startWorker(pool);
  }

  private startWorker(pool: Pool): void {
    const { fn, code } = pool;
    const workerId = `wk-${process.pid.toString(36)}-${(++this.workerSeq).toString(36)}`;
    const events: WorkerEvents = {
      message: (worker, message) => this.onMessage(worker, message),
      rawOutput: (worker, stream, data) => this.onRawOutput(worker, stream, data),
      exit: (worker, description) => this.onExit(worker, description),
    };
    const worker = new WorkerProcess(
      { workerId, codeDir: code.dir, entry: code.entry, projectRoot: code.projectRoot, className: fn.className, methodName: fn.methodName },
      this.workerEnv(pool.appId),
      events,
    );
    pool.workers.add(worker);
    this.poolOfWorker.set(worker, pool);
  }

  private runOn(worker: WorkerProcess, call: Call): void {
    call.state = "running";
    call.worker = worker;
    const seconds = call.request.fn.options.timeout;
    call.timeoutTimer = setTimeout(() => {
      const error = new FunctionTimeoutError(`${call.request.fn.name} timed out after ${seconds} s (its timeout option)`);
      call.worker = undefined;
      worker.currentCallId = undefined;
      worker.kill();
      this.failAttempt(call, systemWireError(error), "timed_out");
    }, seconds * 1000);
    worker.run(call.request.callId, call.request.args);
  }

  private onMessage(worker: WorkerProcess, message: FromWorkerMessage): void {
    const pool = this.poolOfWorker.get(worker);
    if (!pool) return;
    switch (message.type) {
      case "ready":
        worker.state = "idle";
        this.becomeIdle(worker, pool);
        return;
      case "start-failed": {
        worker.state = "stopping"; // never reused; it exits by itself.
        worker.startFailureReported = true;
        const call = this.takeNext(pool);
        const error = new WorkerStartError(`the worker for ${describePool(pool)} failed to start: ${message.error.name}: ${message.error.message}`);
        if (call) this.failAttempt(call, { ...systemWireError(error), stack: withFrames(error, message.error.stack) });
        return;
      }
      case "output": {
        const call = message.callId === null ? undefined : this.calls.get(message.callId);
        if (call && call.worker === worker) call.observer.output(message.stream, message.data);
        else if (message.callId === null) this.workerOutput(pool.appId, pool.fn.name, message.stream, message.data);
        return;
      }
      case "done": {
        const call = this.calls.get(message.callId);
        worker.currentCallId = undefined;
        if (worker.state === "busy") worker.state = "idle";
        if (call && call.worker === worker && call.state === "running") {
          if (message.ok) this.finish(call, { state: "succeeded", value: message.value });
          else this.failAttempt(call, message.error, "failed");
        }
        this.becomeIdle(worker, pool);
        return;
      }
    }
  }

  private onRawOutput(worker: WorkerProcess, stream: "stdout" | "stderr", data: string): void {
    const call = worker.currentCallId ? this.calls.get(worker.currentCallId) : undefined;
    const pool = this.poolOfWorker.get(worker);
    if (call) call.observer.output(stream, data);
    else if (pool) this.workerOutput(pool.appId, pool.fn.name, stream, data);
  }

  private onExit(worker: WorkerProcess, description: string): void {
    const pool = this.poolOfWorker.get(worker);
    this.poolOfWorker.delete(worker);
    if (!pool) return;
    pool.workers.delete(worker);
    const call = worker.currentCallId ? this.calls.get(worker.currentCallId) : undefined;
    if (call && call.state === "running" && call.worker === worker) {
      const error = new WorkerCrashedError(`${call.request.fn.name}: the worker exited with ${description} while running the call`);
      this.failAttempt(call, systemWireError(error), "failed");
    } else if (!worker.everReady && !worker.startFailureReported) {
      const first = this.takeNext(pool);
      const error = new WorkerStartError(`the worker for ${describePool(pool)} exited with ${description} before it was ready`);
      if (first) this.failAttempt(first, systemWireError(error), "failed");
    }
    if (pool.stopped) return;
    this.pump(pool);
    this.topUpWarm(pool);
    if (pool.workers.size === 0 && pool.queue.length === 0) this.pools.delete(pool.key);
  }

  private becomeIdle(worker: WorkerProcess, pool: Pool): void {
    worker.everReady = true;
    if (worker.state !== "idle") return;
    const next = this.takeNext(pool);
    if (next) return this.runOn(worker, next);
    if (pool.retiring) return void this.stopWorker(worker);
    worker.idleSince = Date.now();
    if (!worker.idleTimer) this.armIdleTimer(worker, pool, pool.fn.options.containerIdleTimeout * 1000);
  }

  /**
   * One timer per idle period rather than one per call: when it fires it checks how long the
   * worker has really been idle, and re-arms for the rest when a call came in between.
   */
  private armIdleTimer(worker: WorkerProcess, pool: Pool, ms: number): void {
    worker.idleTimer = setTimeout(() => {
      worker.idleTimer = undefined;
      if (worker.state !== "idle") return; // busy now: becomeIdle re-arms it later
      const left = worker.idleSince + pool.fn.options.containerIdleTimeout * 1000 - Date.now();
      if (left > 0) return this.armIdleTimer(worker, pool, left);
      const live = [...pool.workers].filter((w) => w.state === "idle" || w.state === "busy").length;
      if (live > pool.fn.options.keepWarm) void this.stopWorker(worker);
    }, ms);
    worker.idleTimer.unref();
  }

  /** Asks a worker to leave (its exit hooks run) and resolves once it has. */
  private stopWorker(worker: WorkerProcess): Promise<void> {
    worker.shutdown(EXIT_GRACE_MS);
    return worker.exited;
  }

  private failAttempt(call: Call, error: WireError, state: "failed" | "timed_out" = "failed"): void {
    clearTimeout(call.timeoutTimer);
    call.worker = undefined;
    const policy = call.request.fn.options.retries;
    if (call.state === "done") return;
    if (call.attempt <= policy.maxRetries) {
      const delay = Math.min(policy.initialDelayMs * policy.backoffCoefficient ** (call.attempt - 1), policy.maxDelayMs);
      call.state = "waiting-retry";
      call.observer.output("stderr", `stubrun: ${call.request.fn.name} attempt ${call.attempt} failed (${error.message}); retrying in ${delay} ms\n`);
      call.retryTimer = setTimeout(() => this.submit(call), delay);
      return;
    }
    this.finish(call, { state, error });
  }

  private finish(call: Call, outcome: CallOutcome): void {
    if (call.state === "done") return;
    call.state = "done"; // a queued call stays in its queue, and is skipped when its turn comes
    clearTimeout(call.timeoutTimer);
    clearTimeout(call.retryTimer);
    call.worker = undefined;
    this.calls.delete(call.request.callId);
    call.observer.finished(outcome);
  }
}

/** The error's own first line, followed by the stack frames of the error that caused it. */
function withFrames(error: Error, causeStack: string | undefined): string {
  const frames = (causeStack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
  return [`${error.name}: ${error.message}`, ...frames].join("\n");
}

function describePool(pool: Pool): string {
  return pool.fn.name;
}
