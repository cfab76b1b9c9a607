import {
  systemWireError,
  WorkerCrashedError,
  WorkerStartError,
  type CallJobData,
  type FunctionManifest,
  type NodeKeepWarm,
  type NodeQueue,
  type NodeWorkerEnv,
  type ToNodeMessage,
} from "@stubrun/protocol";
import { DelayedError, Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from "bullmq";
import os from "node:os";
import path from "node:path";
import { DEFAULT_LIMITS } from "../config/limits";
import type { CallOutcome } from "../dispatcher/dispatcher";
import { sandboxModeFromEnv, WorkerSandbox } from "../sandbox/worker-sandbox";
import { ResourceCgroups } from "../sandbox/memory-cgroup";
import { LateMounts } from "../sandbox/late-mounts";
import { SandboxesAhead } from "../sandbox/sandboxes-ahead";
import { LocalDispatcher } from "../dispatcher/local-dispatcher";
import { PrestartedWorkers } from "../dispatcher/worker-pool-prestart";
import { forkWorker, type WorkerFactory } from "../dispatcher/worker-process";
import { STUBRUN_BACKOFF } from "../dispatcher/queue-dispatcher";
import { capacityOf } from "../dispatcher/worker-slots";
import { ImageBuilder } from "../images/image-builder";
import { ImageStore } from "../images/image-store";
import { prestartedWorkerEnv, withImageAndSecrets, workerEnv } from "../server";
import type { CodeSource } from "./code-source";
import { ServerLink } from "./server-link";
import { WorkerWatch } from "./worker-watch";

/**
 * A job's lock: renewed every half of it while its node lives; when a node dies (kill -9), its
 * jobs' locks lapse and the stalled check of another node's worker (every STALLED_CHECK_MS)
 * puts them back in the queue. So a dead node's calls run again within about 20 s.
 */
const LOCK_MS = 15_000;
const STALLED_CHECK_MS = 5_000;
/**
 * A call whose node died runs again on another node: a node's death is not the call's failure,
 * so it does not spend the call's retries. A call that was running on nodes that died this many
 * times fails (a call that kills its node would otherwise go round for ever).
 */
const MAX_NODE_LOSSES = 2;
/**
 * BullMQ would fail a job that stalled more than `maxStalledCount` without any processor seeing
 * it (and so without telling the server): set out of reach, since a node checks the count itself
 * (MAX_NODE_LOSSES) and reports the call's end.
 */
const MAX_STALLS = 1_000_000;

/** How often a node tells the server its worker counts, when they changed (`stubrun app list`'s running tasks). */
const TASKS_REPORT_MS = 250;

/** How far a job a full node hands back is delayed, so the node does not take it again at once. */
const FULL_BOUNCE_MS = 50;

/**
 * How many times a job sent to another node (it had an idle worker of the function) is handed
 * back by nodes without one before one of them runs it anyway (that node may be full, or gone).
 */
const MAX_HAND_BACKS = 5;
/** How long a node that handed a job back leaves that queue to the others. */
const HAND_BACK_PAUSE_MS = 100;

/** How long a cancel for a call this node has not picked up yet is remembered. */
const CANCEL_MEMORY_MS = 5 * 60_000;

/** What a worker node needs. */
export interface WorkerNodeOptions {
  /** The server's URL, as this node reaches it. */
  serverUrl: string;
  /** The server's full token (`STUBRUN_TOKEN`). */
  token: string;
  /** Redis, where the calls wait. */
  connection: ConnectionOptions;
  /** Calls this node runs at once. */
  concurrency: number;
  /** The cores this node shares out among workers of functions with a `cpu` option. @default os.availableParallelism() */
  cpus?: number;
  /** The node's own `$STUBRUN_HOME`: its images. */
  home: string;
  codeSource: CodeSource;
  /** @default `<hostname>-<pid>` */
  nodeId?: string;
  /**
   * Worker processes kept started ahead, with no code yet (as a server's `limits.prestartedWorkers`):
   * a burst of calls on this node cold-starts its workers without Node's own start. Sandboxes
   * started ahead on a sandboxed node run as root; none otherwise. @default concurrency
   */
  prestartedWorkers?: number;
  /** @default stderr */
  log?: (line: string) => void;
}

/**
 * A worker node (`stubrun worker`): takes calls from the function queues the server announces
 * (one BullMQ Worker each) and runs each on a LocalDispatcher of its own, which does what the
 * embedded server does with worker processes (enter/exit hooks, keepWarm after calls,
 * containerIdleTimeout, the per-attempt timeout, cancel, output capture); BullMQ does the
 * retries, so the local one runs each attempt once. Output and the outcome go to the server on
 * the node's socket, in order. A job's processor resolves when the call succeeded and throws
 * when the attempt failed, so BullMQ retries it with the function's own backoff.
 */
export class WorkerNode {
  readonly nodeId: string;
  private readonly log: (line: string) => void;
  private readonly link: ServerLink;
  private readonly dispatcher: LocalDispatcher;
  /** Its workers, per function and code, as the server hears of them (routing to idle workers). */
  private readonly watch: WorkerWatch;
  /** Whether the server this node is connected to (a restarted one, maybe) heard of its workers. */
  private toldWorkers = false;
  private readonly images: ImageBuilder;
  private readonly imageStore: ImageStore;
  private readonly workers = new Map<string, Worker<CallJobData>>();
  /** Each function's worker environment, as last read from the server (memory only: it holds secrets). */
  private readonly envs = new Map<string, NodeJS.ProcessEnv>();
  /** Cancels of calls not (yet) on this node's dispatcher. */
  private readonly cancelled = new Map<string, number>();
  private redisDown = false;
  /** Calls running in the node's slots, and whether its workers are paused for want of one. */
  private busy = 0;
  private paused = false;
  private gateChain: Promise<unknown> = Promise.resolve();
  /** Set once the node is stopping: its cancelled calls go back to their queues. */
  private closing = false;
  /** Calls the server cancelled (as opposed to this node stopping), until their processor ends. */
  private readonly cancelledByServer = new Set<string>();
  /** Code folders by hash, as the CodeSource gave them (the local dispatcher's pools are per folder). */
  private readonly codeDirs = new Map<string, string>();
  /** Apps this node ran or keeps warm, and their worker counts as last told to the server. */
  private readonly apps = new Set<string>();
  private readonly reported = new Map<string, number>();
  private tasksTimer?: NodeJS.Timeout;
  /** Workers started ahead, made once the server said their heap limit (`node.functions`); sandboxes ahead on a sandboxed node. */
  private prestarted?: PrestartedWorkers;
  private readonly canPrestart: boolean;
  /** What workers started ahead run in: undefined without a sandbox; null when the node sandboxes but cannot start sandboxes ahead. */
  private readonly sandboxesAhead: Promise<SandboxesAhead | undefined | null>;
  private lateMounts?: LateMounts;
  /** The heap limit they were started with. */
  private prestartedMb?: number;
  /** A connection of the node's own to Redis, so it says from the start whether Redis answers (workers come with the first queue). */
  private probe?: Queue;

  constructor(private readonly options: WorkerNodeOptions) {
    this.nodeId = options.nodeId ?? `${os.hostname()}-${process.pid}`;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.imageStore = new ImageStore(path.join(options.home, "images"));
    this.imageStore.removeUnfinished();
    this.images = new ImageBuilder(this.imageStore, DEFAULT_LIMITS);
    // Each node sandboxes its own workers, as the embedded server does (STUBRUN_SANDBOX on the node).
    const { sandbox, notice } = WorkerSandbox.choose(sandboxModeFromEnv());
    this.log(`stubrun worker: ${notice}`);
    const resources = ResourceCgroups.detect();
    this.log(`stubrun worker: ${resources.notice}`);
    this.canPrestart = (options.prestartedWorkers ?? options.concurrency) > 0;
    // A sandboxed node starts sandboxes ahead where it can mount code into them later (late-mounts.ts).
    this.sandboxesAhead = !sandbox
      ? Promise.resolve(undefined)
      : !this.canPrestart
        ? Promise.resolve(null)
        : LateMounts.start(path.join(options.home, "sandboxes-ahead")).then(({ mounts, whyNot }) => {
            if (!mounts) {
              this.log(`stubrun worker: no sandboxed workers are started ahead (${whyNot}): each cold start pays for Node's start`);
              return null;
            }
            this.lateMounts = mounts;
            return new SandboxesAhead(sandbox, mounts, [path.join(options.home, "code"), this.imageStore.directory]);
          });
    const startWorker: WorkerFactory = (...args) => (this.prestarted?.factory() ?? forkWorker)(...args);
    this.watch = new WorkerWatch((report) => this.link.send({ type: "node.workers", ...report }), startWorker);
    this.dispatcher = new LocalDispatcher(
      (appId, fn) => {
        const env = this.envs.get(envKey(appId, fn));
        if (!env) throw new Error("its environment was not received from the server");
        return env;
      },
      (appId, functionName, stream, data) => this.link.send({ type: "node.worker-output", appId, functionName, stream, data }),
      {
        limits: { ...DEFAULT_LIMITS, maxWorkers: options.concurrency, maxQueuedCallsPerApp: Number.MAX_SAFE_INTEGER },
        imageDirOf: (fn) => this.imageStore.forWorker(fn.options.image).dir,
        note: (appId, line) => this.link.send({ type: "node.note", appId, line }),
        ...(sandbox ? { sandbox } : {}),
        ...(resources.cgroups ? { cgroups: resources.cgroups } : {}),
        ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
        startWorker: this.watch.factory,
      },
    );
    this.link = new ServerLink({
      serverUrl: options.serverUrl,
      token: options.token,
      hello: () => {
        this.toldWorkers = false;
        return { type: "node.hello", nodeId: this.nodeId, slots: options.concurrency };
      },
      onMessage: (message) => this.onServerMessage(message),
      log: this.log,
    });
  }

  start(): void {
    this.link.start();
    this.tasksTimer = setInterval(() => this.reportTasks(), TASKS_REPORT_MS);
    this.tasksTimer.unref();
    const probe = new Queue("stubrun-node-probe", { connection: this.options.connection });
    this.probe = probe;
    probe.on("error", (error) => this.redisError(error));
    void probe.client.then(
      (client) => {
        this.redisBack(true);
        client.on("ready", () => this.redisBack());
      },
      () => undefined,
    );
  }

  /**
   * Stops the node (SIGINT, SIGTERM): it takes no more jobs, stops its workers (exit hooks run),
   * and puts the calls it was running back in their queues at once, without spending their
   * retries, so another node runs them now rather than once their locks lapse.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.tasksTimer);
    await Promise.all([...this.workers.values()].map((w) => w.pause(true).catch(() => undefined)));
    this.prestarted?.close();
    await this.dispatcher.close(); // running calls end as cancelled: their processors put them back
    this.lateMounts?.close();
    await Promise.all([...this.workers.values()].map((w) => w.close().catch(() => undefined)));
    this.workers.clear();
    await this.images.close();
    await this.probe?.close().catch(() => undefined);
    this.link.close();
  }

  private onServerMessage(message: ToNodeMessage): void {
    switch (message.type) {
      case "node.functions":
        if (!this.toldWorkers) {
          // The server's answer to hello: a server that (re)started learns of the workers here.
          this.toldWorkers = true;
          for (const report of this.watch.all()) this.link.send({ type: "node.workers", ...report });
        }
        this.dispatcher.setLimits({ ...DEFAULT_LIMITS, ...message.limits, maxWorkers: this.options.concurrency, maxQueuedCallsPerApp: Number.MAX_SAFE_INTEGER });
        this.prestart(message.limits.workerMemoryMb);
        return this.follow(message.queues);
      case "node.cancel":
        if (this.dispatcher.cancel(message.callId, "the call was cancelled")) this.cancelledByServer.add(message.callId);
        else this.rememberCancel(message.callId);
        return;
      case "node.keep-warm":
        void this.keepWarm(message);
        return;
      case "node.stop-app":
        void this.dispatcher.stopApp(message.appId).finally(() => {
          this.reportTasks(); // its workers are gone: the server's count says so before the stop ends
          this.apps.delete(message.appId);
          this.watch.forget(message.appId);
          this.link.send({ type: "node.app-stopped", appId: message.appId });
        });
        return;
      case "node.retire": {
        const dir = this.codeDirs.get(message.codeHash);
        if (dir !== undefined) this.dispatcher.retire(message.appId, dir);
        return;
      }
      case "node.env-reply":
        return; // answered by the link
    }
  }

  /** Keeps workers started ahead with the server's heap limit (started again when a server of another limit is met). */
  private prestart(memoryMb: number): void {
    if (!this.canPrestart || this.closing || this.prestartedMb === memoryMb) return;
    this.prestartedMb = memoryMb;
    void this.sandboxesAhead.then((ahead) => {
      // null: the node sandboxes its workers but cannot start sandboxes ahead.
      if (ahead === null || this.closing || this.prestartedMb !== memoryMb) return;
      this.prestarted?.close();
      this.prestarted = new PrestartedWorkers(this.options.prestartedWorkers ?? this.options.concurrency, () => memoryMb, prestartedWorkerEnv(), ahead);
      this.prestarted.holdRefill(this.paused);
    });
  }

  /** Takes from the queues that exist now, and stops taking from those that went. */
  private follow(queues: NodeQueue[]): void {
    const wanted = new Set(queues.map((q) => q.queue));
    for (const [name, worker] of this.workers) {
      if (wanted.has(name)) continue;
      this.workers.delete(name);
      void worker.close(true).catch(() => undefined);
    }
    for (const q of queues) {
      const existing = this.workers.get(q.queue);
      if (existing) {
        existing.concurrency = jobsAtOnce(this.options.concurrency, q); // a new version may change the limit
        continue;
      }
      const worker = new Worker<CallJobData>(q.queue, (job, token) => this.process(job, token), {
        connection: this.options.connection,
        concurrency: jobsAtOnce(this.options.concurrency, q),
        lockDuration: LOCK_MS,
        stalledInterval: STALLED_CHECK_MS,
        maxStalledCount: MAX_STALLS,
        settings: { backoffStrategy: (attemptsMade, _type, _error, job) => retryDelay((job?.data as CallJobData | undefined)?.fn, attemptsMade) },
      });
      if (this.paused) this.gateChain = this.gateChain.then(() => worker.pause(true)).catch(() => undefined);
      worker.on("error", (error) => this.redisError(error));
      worker.on("ready", () => this.redisBack());
      this.workers.set(q.queue, worker);
    }
  }

  /** Runs one attempt of a call. */
  private async process(job: Job<CallJobData>, token?: string): Promise<void> {
    // The server sent this call to another node, which has an idle worker of its function: hand it
    // back for that node (the node that waited longest gets the next job), unless this one has one too.
    const { node, handedBack = 0, appId, codeHash, fn } = job.data;
    if (node !== undefined && node !== this.nodeId && handedBack < MAX_HAND_BACKS && token !== undefined && !this.watch.hasIdle(appId, codeHash, fn.name)) {
      // From the job's second hand-back on, this node's worker of the queue pauses a moment, so that it does
      // not take the job again at once. Not at the first: in a burst (a `.map`) this node takes the queue's
      // other calls meanwhile, where a pause would leave its free slots idle.
      if (handedBack > 0) this.pauseBriefly(job.queueName);
      await job.updateData({ ...job.data, handedBack: handedBack + 1 });
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    // Each queue's worker may take up to min(slots, concurrencyLimit) jobs; the node as a whole
    // runs at most `slots`. A job over that goes back at once (no retry spent) for a node with
    // room, and this node's workers pause until a slot frees, so it does not hold jobs it cannot run.
    // A call of a function with concurrentInputs N takes 1/N of a slot (a worker serves N of them).
    const share = 1 / capacityOf(job.data.fn);
    if (this.busy + share > this.options.concurrency + SLOT_EPSILON && token !== undefined) {
      this.gate();
      await job.moveToDelayed(Date.now() + FULL_BOUNCE_MS, token);
      throw new DelayedError();
    }
    this.busy += share;
    this.gate();
    try {
      await this.processInSlot(job, token);
    } finally {
      this.busy -= share;
      if (this.busy < SLOT_EPSILON) this.busy = 0; // sums of fractions drift
      this.gate();
    }
  }

  /** Pauses this node's worker of one queue for HAND_BACK_PAUSE_MS (not past a pause of the whole node). */
  private pauseBriefly(queue: string): void {
    const worker = this.workers.get(queue);
    if (!worker) return;
    // At once, not in the gate's chain: the worker's loop must see it before it fetches again.
    void worker.pause(true).catch(() => undefined);
    setTimeout(() => {
      if (this.paused || this.closing || this.workers.get(queue) !== worker) return;
      this.gateChain = this.gateChain.then(() => worker.resume()).catch(() => undefined);
    }, HAND_BACK_PAUSE_MS).unref();
  }

  /** Pauses the node's workers while every slot is busy, and resumes them when one frees (in order: a resume never overtakes a pause). */
  private gate(): void {
    const full = this.busy > this.options.concurrency - SLOT_EPSILON;
    if (full === this.paused || this.closing) return;
    this.paused = full;
    this.prestarted?.holdRefill(full);
    const workers = [...this.workers.values()];
    this.gateChain = this.gateChain
      .then(() => Promise.all(workers.map((w) => (full ? w.pause(true) : w.resume()))))
      .catch(() => undefined);
  }

  /** Runs one attempt of a call, in one of the node's slots. */
  private async processInSlot(job: Job<CallJobData>, token?: string): Promise<void> {
    if (job.data.batch) return this.processBatch(job, job.data.batch, token);
    const data = job.data;
    const { callId, fn } = data;
    const attempt = job.attemptsMade + 1;
    const last = attempt >= (job.opts.attempts ?? 1);
    const lost = job.stalledCounter ?? 0; // times a node running this call died
    if (lost > MAX_NODE_LOSSES) {
      const error = new WorkerCrashedError(`${fn.name}: the worker nodes running the call stopped answering ${lost} times; it is not run again`);
      this.link.send({ type: "node.done", callId, outcome: { state: "failed", error: systemWireError(error) } });
      throw new UnrecoverableError(error.message);
    }
    let outcome: CallOutcome;
    let byServer = false;
    try {
      outcome = await this.attempt(data, attempt);
    } finally {
      byServer = this.cancelledByServer.delete(callId) || this.cancelled.delete(callId);
    }
    if (outcome.state === "succeeded") return void this.link.send({ type: "node.done", callId, outcome });
    // The server ended a cancelled call already: nothing to report, nothing to retry.
    if (outcome.state === "cancelled" && this.closing && !byServer && token !== undefined) {
      // This node is stopping: the call goes back to its queue for another node, its retries untouched.
      this.link.send({ type: "node.output", callId, stream: "stderr", data: `stubrun: worker node ${this.nodeId} is stopping; ${fn.name} runs again on another node\n` });
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    if (outcome.state === "cancelled") throw new UnrecoverableError(outcome.error.message);
    if (last) {
      this.link.send({ type: "node.done", callId, outcome });
      throw new UnrecoverableError(outcome.error.message);
    }
    const delay = retryDelay(fn, attempt);
    this.link.send({ type: "node.output", callId, stream: "stderr", data: `stubrun: ${fn.name} attempt ${attempt} failed (${outcome.error.message}); retrying in ${delay} ms\n` });
    throw new Error(outcome.error.message);
  }

  /**
   * Runs a job of several calls one after another in this slot: the server batches only calls
   * without retries, so each runs once and its outcome is final. A node that dies mid-batch: the
   * job runs again elsewhere, and the calls the server already has a result of are dropped there.
   */
  private async processBatch(job: Job<CallJobData>, batch: NonNullable<CallJobData["batch"]>, token?: string): Promise<void> {
    const { fn } = job.data;
    const lost = job.stalledCounter ?? 0;
    if (lost > MAX_NODE_LOSSES) {
      const error = new WorkerCrashedError(`${fn.name}: the worker nodes running the call stopped answering ${lost} times; it is not run again`);
      for (const { callId } of batch) this.link.send({ type: "node.done", callId, outcome: { state: "failed", error: systemWireError(error) } });
      throw new UnrecoverableError(error.message);
    }
    const shared: { env?: NodeWorkerEnv } = {};
    for (const { callId, args } of batch) {
      if (this.closing && token !== undefined) {
        // This node is stopping: the rest of the batch goes back to the queue for another node.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      let outcome: CallOutcome;
      let byServer = false;
      try {
        outcome = await this.attempt({ ...job.data, callId, args, batch: undefined }, 1, shared);
      } finally {
        byServer = this.cancelledByServer.delete(callId) || this.cancelled.delete(callId);
      }
      if (outcome.state === "cancelled" && this.closing && !byServer && token !== undefined) {
        this.link.send({ type: "node.output", callId, stream: "stderr", data: `stubrun: worker node ${this.nodeId} is stopping; ${fn.name} runs again on another node\n` });
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (outcome.state !== "cancelled") this.link.send({ type: "node.done", callId, outcome });
    }
  }

  /**
   * Gets the call's code, image and environment, then runs it once on the local dispatcher.
   * @param batch the calls of one batch share the environment the first of them got (one round trip to the server).
   */
  private async attempt(data: CallJobData, attempt: number, batch?: { env?: NodeWorkerEnv }): Promise<CallOutcome> {
    const { callId, appId, fn } = data;
    this.apps.add(appId);
    const cancelled = (): CallOutcome | undefined =>
      this.cancelled.has(callId) ? { state: "cancelled", error: { name: "CallCancelledError", message: "the call was cancelled" } } : undefined;
    let codeDir: string;
    try {
      codeDir = await this.options.codeSource.ensure(data.codeHash);
      this.codeDirs.set(data.codeHash, codeDir);
      if (fn.options.image) await this.images.build(fn.options.image, () => undefined);
      if (batch?.env === undefined) {
        const env = await this.link.requestEnv({ callId });
        this.setEnv(appId, fn, env);
        if (batch) batch.env = env;
      }
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return cancelled() ?? { state: "failed", error: systemWireError(new WorkerStartError(`the worker for ${fn.name} cannot start on node ${this.nodeId}: ${why}`)) };
    }
    const early = cancelled();
    if (early) return early;
    this.link.send({ type: "node.started", callId, attempt });
    const once = { ...fn, options: { ...fn.options, retries: { ...fn.options.retries, maxRetries: 0 } } };
    return new Promise<CallOutcome>((resolve) => {
      this.dispatcher.enqueue(
        { callId, appId, fn: once, code: { dir: codeDir, hash: data.codeHash, entry: data.entry }, args: data.args, ...(data.params ? { params: data.params } : {}) },
        {
          output: (stream, text) => this.link.send({ type: "node.output", callId, stream, data: text }),
          yield: (value) => this.link.send({ type: "node.yield", callId, value }),
          finished: resolve,
        },
      );
    });
  }

  /** A function's worker environment, as the server's part of it came (memory only). */
  private setEnv(appId: string, fn: FunctionManifest, env: NodeWorkerEnv): void {
    const image = this.imageStore.forWorker(fn.options.image);
    this.envs.set(envKey(appId, fn), withImageAndSecrets(workerEnv(this.options.serverUrl, appId, env.appToken, process.env, env.env), image.dir, image.env, env.secrets));
  }

  /** Starts a function's keepWarm workers here, once its code, image and environment are ready. */
  private async keepWarm(message: NodeKeepWarm): Promise<void> {
    const { appId, fn, codeHash, entry } = message;
    this.apps.add(appId);
    try {
      const dir = await this.options.codeSource.ensure(codeHash);
      this.codeDirs.set(codeHash, dir);
      if (fn.options.image) await this.images.build(fn.options.image, () => undefined);
      this.setEnv(appId, fn, await this.link.requestEnv({ appId, functionName: fn.name }));
      this.dispatcher.keepWarm(appId, fn, { dir, hash: codeHash, entry });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.link.send({ type: "node.worker-output", appId, functionName: fn.name, stream: "stderr", data: `stubrun: node ${this.nodeId} cannot keep ${fn.name} warm: ${why}\n` });
    }
  }

  /** Tells the server how many worker processes each app has here, when that changes. */
  private reportTasks(): void {
    for (const appId of this.apps) {
      const count = this.dispatcher.runningTasks(appId);
      if (count === (this.reported.get(appId) ?? 0)) continue;
      this.link.send({ type: "node.tasks", appId, count });
      if (count > 0) this.reported.set(appId, count);
      else this.reported.delete(appId);
    }
  }

  private rememberCancel(callId: string): void {
    const now = Date.now();
    for (const [id, at] of this.cancelled) if (now - at > CANCEL_MEMORY_MS) this.cancelled.delete(id);
    this.cancelled.set(callId, now);
  }

  private redisError(error: Error): void {
    if (this.redisDown) return;
    this.redisDown = true;
    this.log(`stubrun worker: cannot reach Redis (${error.message}); retrying`);
  }

  /** Says Redis answers: once at first, then after each time it did not. */
  private redisBack(first = false): void {
    if (!this.redisDown && !first) return;
    this.redisDown = false;
    this.log("stubrun worker: connected to Redis");
  }
}

/** Fractions of a slot are summed: this much is rounding, not a call. */
const SLOT_EPSILON = 1e-6;

/** Jobs a queue's BullMQ worker on this node takes at once: its share of the node's slots, times the calls each worker serves. */
function jobsAtOnce(slots: number, q: NodeQueue): number {
  return Math.min(slots, q.concurrencyLimit) * (q.concurrentInputs ?? 1);
}

function envKey(appId: string, fn: FunctionManifest): string {
  return `${appId}\0${fn.name}`;
}

/** The function's own backoff (as the embedded dispatcher computes it) after attempt `attempt` failed. */
function retryDelay(fn: FunctionManifest | undefined, attempt: number): number {
  if (!fn) return 0;
  const { initialDelayMs, backoffCoefficient, maxDelayMs } = fn.options.retries;
  return Math.min(initialDelayMs * backoffCoefficient ** (attempt - 1), maxDelayMs);
}

