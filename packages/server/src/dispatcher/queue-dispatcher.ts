import {
  CallCancelledError,
  RequestRefusedError,
  systemWireError,
  type CallJobData,
  type FromNodeMessage,
  type FunctionManifest,
  type NodeFunctions,
  type NodeQueue,
  type NodeWorkerEnv,
  type WireError,
} from "@stubrun/protocol";
import { Queue, type ConnectionOptions } from "bullmq";
import path from "node:path";
import type { ServerLimits } from "../config/limits";
import type { ConnectedNode, NodeEvents, NodeHub } from "../transport/node-hub";
import type { CallObserver, CallRequest, Dispatcher } from "./dispatcher";
import { batchJobs, type PendingJob } from "./job-batches";
import { queueName } from "./redis-url";
import { capacityOf } from "./worker-slots";

/** The name of the backoff strategy the nodes' BullMQ workers implement (the function's own `retries` policy). */
export const STUBRUN_BACKOFF = "stubrun";

/** What a QueueDispatcher needs. */
export interface QueueDispatcherOptions {
  /** Redis, for BullMQ. */
  connection: ConnectionOptions;
  nodes: NodeHub;
  /** The server's part of a worker's environment (the app's credential, the function's secrets), read when a node asks. */
  workerEnv: (appId: string, fn: FunctionManifest) => NodeWorkerEnv;
  /** Output a node's worker wrote outside any call (enter and exit hooks). */
  workerOutput: (appId: string, functionName: string, stream: "stdout" | "stderr", data: string) => void;
  log: (line: string) => void;
  /** Writes a line of stubrun's own in an app's logs. */
  note: (appId: string, line: string) => void;
  /** The server's limits: the queue's, and those its workers follow on the nodes. */
  limits: Pick<ServerLimits, "maxQueuedCallsPerApp" | "workerMemoryMb" | "maxOutputBytesOutsideCalls">;
}

/** How long an app's stop waits for the nodes to stop its workers (their exit hooks have 3 s). */
const STOP_WAIT_MS = 5_000;

/** What a run started while no node is connected says on its client's stderr. */
export const NO_NODE_NOTICE = "stubrun: no worker node is connected to the server; the call waits until one is (start one with: npx stubrun worker --server URL --queue redis://HOST:PORT)\n";

/** One call the dispatcher waits on. */
interface QueuedCall {
  request: CallRequest;
  observer: CallObserver;
  queue: string;
  /** The node running its current attempt. */
  node?: ConnectedNode;
  /** Whether an attempt ever started (until then it counts against `maxQueuedCallsPerApp`). */
  started: boolean;
  /** Its worker pool (`poolKey`): one worker of it starts in all until one was ready. */
  pool: string;
}

/** Calls of a pool whose code never had a ready worker: one (the probe) is queued, the rest wait here for a ready worker. */
interface StartGate {
  probe?: string;
  held: { fq: FunctionQueue; job: PendingJob }[];
}

/** A function the server keeps warm, and the node it gave that to. */
interface WarmFunction {
  appId: string;
  fn: FunctionManifest;
  code: CallRequest["code"];
  node?: ConnectedNode;
}

/** One BullMQ queue of one function of one app, with the jobs of this event-loop turn not yet added. */
interface FunctionQueue {
  info: NodeQueue;
  queue: Queue;
  /** Resolves once its global concurrency is set: jobs are added after it, in order. */
  ready: Promise<unknown>;
  pending: PendingJob[];
}

/**
 * The dispatcher of `stubrun server --queue redis://...`: every call is a BullMQ job in its
 * function's queue (global concurrency = the function's `concurrencyLimit`, attempts = its
 * retries + 1, backoff its own policy), taken by `stubrun worker` nodes, which report the call's
 * output and outcome over their socket (`NodeHub`), in order. Secrets never go through Redis:
 * a node asks for a worker's environment on its socket.
 */
export class QueueDispatcher implements Dispatcher, NodeEvents {
  private readonly queues = new Map<string, FunctionQueue>();
  private readonly calls = new Map<string, QueuedCall>();
  /** Apps already told that no node is connected (until one is). */
  private readonly toldNoNode = new Set<string>();
  private redisDown = false;
  /** keepWarm functions by `appId\0name`: each is kept warm by one node, given again when it leaves. */
  private readonly warm = new Map<string, WarmFunction>();
  /** Worker processes per app, per node, as the nodes report them. */
  private readonly tasks = new Map<ConnectedNode, Map<string, number>>();
  /** Apps stopped here: a node's report of their workers that crossed the stop is stale. */
  private readonly stoppedApps = new Set<string>();
  /** Calls not started yet, per app (`limits.maxQueuedCallsPerApp`). */
  private readonly waitingByApp = new Map<string, number>();
  /** Pools (`poolKey`) that had a ready worker on some node. */
  private readonly readyPools = new Set<string>();
  /** Pools not known to start yet, with the calls held back until they do. */
  private readonly gates = new Map<string, StartGate>();
  /** Idle workers per node per pool (`node.workers`), and how many of them calls sent there since took. */
  private readonly idle = new Map<ConnectedNode, Map<string, { idle: number; claimed: number }>>();
  /** App stops waiting for nodes to say `node.app-stopped`. */
  private readonly stopWaiters = new Set<{ node: ConnectedNode; appId: string; done: () => void }>();

  constructor(private readonly options: QueueDispatcherOptions) {
    options.nodes.attach(this);
  }

  /** Refuses a new call of an app with `maxQueuedCallsPerApp` calls not started yet; nothing is recorded for it. */
  admit(appId: string): void {
    const waiting = this.waitingByApp.get(appId) ?? 0;
    const max = this.options.limits.maxQueuedCallsPerApp;
    if (waiting >= max) {
      throw new RequestRefusedError(
        `the call was refused: app ${appId} already has ${waiting} calls waiting for a worker node, the most the server allows (limits.maxQueuedCallsPerApp = ${max}); ` +
          `wait for some to finish, or raise it in $STUBRUN_HOME/config.json: { "limits": { "maxQueuedCallsPerApp": ${max * 2} } }`,
      );
    }
  }

  enqueue(request: CallRequest, observer: CallObserver): void {
    this.stoppedApps.delete(request.appId); // running again (a deployed app served anew)
    const fq = this.queueFor(request.appId, request.fn);
    const pool = poolKey(request.appId, request.code.hash, request.fn.name);
    this.calls.set(request.callId, { request, observer, queue: fq.info.queue, started: false, pool });
    this.waitingByApp.set(request.appId, (this.waitingByApp.get(request.appId) ?? 0) + 1);
    if (this.options.nodes.size === 0 && !this.toldNoNode.has(request.appId)) {
      this.toldNoNode.add(request.appId);
      // As the app's output (its logs and its client's stderr), not the call's: the client learns
      // the call's id only from the reply to call.start, which this would precede.
      this.options.workerOutput(request.appId, request.fn.name, "stderr", NO_NODE_NOTICE);
    }
    const { maxRetries } = request.fn.options.retries;
    const job = {
      name: request.fn.name,
      data: jobData(request),
      opts: { jobId: request.callId, attempts: maxRetries + 1, backoff: { type: STUBRUN_BACKOFF }, removeOnComplete: true, removeOnFail: true },
    };
    if (!this.readyPools.has(pool)) {
      // As the embedded pool: until the code had a ready worker, one worker starts, not one per node.
      let gate = this.gates.get(pool);
      if (!gate) this.gates.set(pool, (gate = { held: [] }));
      if (gate.probe !== undefined) return void gate.held.push({ fq, job });
      gate.probe = request.callId;
    }
    this.push(fq, job, pool);
  }

  /** Queues a job in this turn's addBulk, sent to a node with an idle worker of its pool when there is one. */
  private push(fq: FunctionQueue, job: PendingJob, pool: string): void {
    const node = this.nodeWithIdleWorker(pool);
    if (node !== undefined) job.data = { ...job.data, node };
    fq.pending.push(job);
    if (fq.pending.length === 1) setImmediate(() => this.flush(fq));
  }

  /** The node with the most idle workers of the pool not yet promised to a call, if any (that one is promised). */
  private nodeWithIdleWorker(pool: string): string | undefined {
    let best: { idle: number; claimed: number } | undefined;
    let bestNode: ConnectedNode | undefined;
    for (const [node, pools] of this.idle) {
      const entry = pools.get(pool);
      if (entry && entry.idle - entry.claimed > (best ? best.idle - best.claimed : 0)) {
        best = entry;
        bestNode = node;
      }
    }
    if (!best || !bestNode) return undefined;
    best.claimed++;
    return bestNode.nodeId;
  }

  /** A node had a ready worker of the pool: its held calls are queued. */
  private poolReady(pool: string): void {
    this.readyPools.add(pool);
    const gate = this.gates.get(pool);
    if (!gate) return;
    this.gates.delete(pool);
    for (const { fq, job } of gate.held) if (this.calls.has(job.data.callId)) this.push(fq, job, pool);
  }

  /**
   * A pool's probe ended before any worker of it was ready. Its start failed (the code throws on
   * import, its enter hook failed): the held calls without retries fail with that error, as the
   * embedded pool's waiting calls do, and the next one probes. Otherwise (cancelled), the next one probes.
   */
  private probeEnded(pool: string, outcome: Parameters<CallObserver["finished"]>[0]): void {
    const gate = this.gates.get(pool);
    if (!gate) return;
    gate.probe = undefined;
    if (outcome.state === "failed" && outcome.error.name === "WorkerStartError") {
      const failing = gate.held.filter(({ job }) => (job.opts.attempts ?? 1) <= 1);
      gate.held = gate.held.filter(({ job }) => (job.opts.attempts ?? 1) > 1);
      for (const { job } of failing) this.finish(job.data.callId, outcome);
    }
    const next = gate.held.shift();
    if (!next) return void this.gates.delete(pool);
    gate.probe = next.job.data.callId;
    this.push(next.fq, next.job, pool);
  }

  cancel(callId: string, reason = "the call was cancelled"): boolean {
    const call = this.calls.get(callId);
    if (!call) return false;
    this.finish(callId, { state: "cancelled", error: systemWireError(new CallCancelledError(reason)) });
    const fq = this.queues.get(call.queue);
    if (fq) {
      fq.pending = fq.pending.filter((job) => job.data.callId !== callId);
      const gate = this.gates.get(call.pool);
      if (gate) gate.held = gate.held.filter(({ job }) => job.data.callId !== callId);
      // A waiting or delayed job goes; an active one is locked, and its node cancels it.
      void fq.queue.remove(callId).catch(() => undefined);
    }
    this.options.nodes.broadcast({ type: "node.cancel", callId });
    return true;
  }

  /** Gives the function's `keepWarm` workers to one node (the one keeping the fewest), or to the first to connect. */
  keepWarm(appId: string, fn: FunctionManifest, code: CallRequest["code"]): void {
    this.stoppedApps.delete(appId); // running again (a deployed app served anew)
    const key = `${appId}\0${fn.name}`;
    const node = this.warm.get(key)?.node;
    const entry: WarmFunction = { appId, fn, code, node };
    this.warm.set(key, entry);
    this.giveWarm(entry);
  }

  /** The nodes' workers of that code finish their calls, then go. */
  retire(appId: string, codeDir: string): void {
    for (const [key, entry] of this.warm) if (entry.appId === appId && entry.code.dir === codeDir) this.warm.delete(key);
    this.options.nodes.broadcast({ type: "node.retire", appId, codeHash: path.basename(codeDir) });
  }

  async stopApp(appId: string): Promise<void> {
    this.stoppedApps.add(appId);
    for (const [callId, call] of [...this.calls]) {
      if (call.request.appId === appId) this.cancel(callId, "the call was cancelled because its app was stopped");
    }
    for (const [key, entry] of this.warm) if (entry.appId === appId) this.warm.delete(key);
    for (const pool of [...this.readyPools]) if (pool.startsWith(`${appId}\0`)) this.readyPools.delete(pool);
    for (const pool of [...this.gates.keys()]) if (pool.startsWith(`${appId}\0`)) this.gates.delete(pool);
    for (const pools of this.idle.values()) for (const pool of [...pools.keys()]) if (pool.startsWith(`${appId}\0`)) pools.delete(pool);
    let changed = false;
    for (const [name, fq] of [...this.queues]) {
      if (fq.info.appId !== appId) continue;
      this.queues.delete(name);
      changed = true;
      // Not awaited: a stop must not wait on Redis. Nothing of the app stays in it.
      void fq.ready
        .then(() => fq.queue.obliterate({ force: true }))
        .catch(() => undefined)
        .finally(() => void fq.queue.close().catch(() => undefined));
    }
    if (changed) this.announce();
    // Stopped means its workers are gone: wait for each node to stop them (bounded).
    await Promise.all(
      this.options.nodes.list().map(
        (node) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => waiter.done(), STOP_WAIT_MS);
            const waiter = {
              node,
              appId,
              done: () => {
                clearTimeout(timer);
                this.stopWaiters.delete(waiter);
                resolve();
              },
            };
            this.stopWaiters.add(waiter);
            node.send({ type: "node.stop-app", appId });
          }),
      ),
    );
    for (const counts of this.tasks.values()) counts.delete(appId); // a node that did not answer in time still stops them
  }

  /** The app's worker processes on all nodes, as they last reported them. */
  runningTasks(appId: string): number {
    let n = 0;
    for (const counts of this.tasks.values()) n += counts.get(appId) ?? 0;
    return n;
  }

  async close(): Promise<void> {
    this.options.nodes.close();
    await Promise.all([...this.queues.values()].map((fq) => fq.queue.close().catch(() => undefined)));
    this.queues.clear();
  }

  nodeJoined(node: ConnectedNode): void {
    this.toldNoNode.clear();
    node.send(this.functionsMessage());
    for (const entry of this.warm.values()) if (entry.node === undefined) this.giveWarm(entry);
  }

  nodeLeft(node: ConnectedNode): void {
    // Its active jobs' locks lapse, and BullMQ gives them to another node as stalled jobs.
    for (const call of this.calls.values()) if (call.node === node) call.node = undefined;
    for (const waiter of [...this.stopWaiters]) if (waiter.node === node) waiter.done();
    this.tasks.delete(node);
    this.idle.delete(node);
    for (const entry of this.warm.values()) {
      if (entry.node !== node) continue;
      entry.node = undefined;
      this.giveWarm(entry);
    }
  }

  nodeMessage(node: ConnectedNode, message: Exclude<FromNodeMessage, { type: "node.hello" }>): void {
    switch (message.type) {
      case "node.started": {
        const call = this.calls.get(message.callId);
        if (!call) return node.send({ type: "node.cancel", callId: message.callId }); // cancelled here already
        call.node = node;
        node.running.add(message.callId);
        this.leaveWaiting(call);
        call.observer.attempt?.(message.attempt);
        return;
      }
      case "node.output":
        this.calls.get(message.callId)?.observer.output(message.stream, message.data);
        return;
      case "node.yield":
        this.calls.get(message.callId)?.observer.yield?.(message.value);
        return;
      case "node.note":
        this.options.note(message.appId, message.line);
        return;
      case "node.workers": {
        if (this.stoppedApps.has(message.appId)) return;
        const pool = poolKey(message.appId, message.codeHash, message.functionName);
        let pools = this.idle.get(node);
        if (!pools) this.idle.set(node, (pools = new Map()));
        // A fresh count: the calls promised to its idle workers before are in it, or running.
        if (message.idle > 0) pools.set(pool, { idle: message.idle, claimed: 0 });
        else pools.delete(pool);
        if (message.ready && !this.readyPools.has(pool)) this.poolReady(pool);
        return;
      }
      case "node.app-stopped":
        for (const waiter of [...this.stopWaiters]) if (waiter.node === node && waiter.appId === message.appId) waiter.done();
        return;
      case "node.worker-output":
        this.options.workerOutput(message.appId, message.functionName, message.stream, message.data);
        return;
      case "node.done":
        node.running.delete(message.callId);
        this.finish(message.callId, message.outcome);
        return;
      case "node.tasks": {
        if (this.stoppedApps.has(message.appId)) return;
        let counts = this.tasks.get(node);
        if (!counts) this.tasks.set(node, (counts = new Map()));
        if (message.count > 0) counts.set(message.appId, message.count);
        else counts.delete(message.appId);
        return;
      }
      case "node.env": {
        const target = "callId" in message ? this.calls.get(message.callId)?.request : this.warm.get(`${message.appId}\0${message.functionName}`);
        if (!target) {
          // A job of a call this server does not run (one queued before a restart): the node drops it.
          if ("callId" in message) node.send({ type: "node.cancel", callId: message.callId });
          const error = new CallCancelledError("callId" in message ? "the call is no longer running on the server" : `${message.functionName} is not kept warm any more`);
          node.send({ type: "node.env-reply", id: message.id, ok: false, error: systemWireError(error) });
          return;
        }
        try {
          node.send({ type: "node.env-reply", id: message.id, ok: true, value: this.options.workerEnv(target.appId, target.fn) });
        } catch (error) {
          node.send({ type: "node.env-reply", id: message.id, ok: false, error: asWire(error) });
        }
        return;
      }
    }
  }

  /** A call's first attempt started, or it ended: it waits no more. */
  private leaveWaiting(call: QueuedCall): void {
    if (call.started) return;
    call.started = true;
    const appId = call.request.appId;
    const n = (this.waitingByApp.get(appId) ?? 0) - 1;
    if (n > 0) this.waitingByApp.set(appId, n);
    else this.waitingByApp.delete(appId);
  }

  /** Sends a keepWarm function to its node, choosing one (the node keeping the fewest warm) if it has none. */
  private giveWarm(entry: WarmFunction): void {
    if (entry.node === undefined || !this.options.nodes.list().includes(entry.node)) {
      const load = (node: ConnectedNode) => [...this.warm.values()].filter((w) => w.node === node).length;
      entry.node = this.options.nodes.list().sort((a, b) => load(a) - load(b))[0];
    }
    const { fn, code, appId } = entry;
    entry.node?.send({ type: "node.keep-warm", appId, fn: withoutSecretValues(fn), codeHash: code.hash, entry: code.entry });
  }

  private finish(callId: string, outcome: Parameters<CallObserver["finished"]>[0]): void {
    const call = this.calls.get(callId);
    if (!call) return;
    this.calls.delete(callId);
    this.leaveWaiting(call);
    call.node?.running.delete(callId);
    call.observer.finished(outcome);
    const gate = this.gates.get(call.pool);
    if (gate?.probe === callId) this.probeEnded(call.pool, outcome);
    else if (gate) gate.held = gate.held.filter(({ job }) => job.data.callId !== callId);
  }

  private queueFor(appId: string, fn: FunctionManifest): FunctionQueue {
    const name = queueName(appId, fn.name);
    let fq = this.queues.get(name);
    // A job is a call: with concurrentInputs, each of the concurrencyLimit workers runs that many at once.
    const inputs = capacityOf(fn);
    const jobs = fn.options.concurrencyLimit * inputs;
    if (fq && (fq.info.concurrencyLimit !== fn.options.concurrencyLimit || (fq.info.concurrentInputs ?? 1) !== inputs)) {
      // A new version changed the limit: the queue's global concurrency follows, and the nodes' workers.
      fq.info = { ...fq.info, concurrencyLimit: fn.options.concurrencyLimit, ...(inputs > 1 ? { concurrentInputs: inputs } : { concurrentInputs: undefined }) };
      const queue = fq.queue;
      fq.ready = fq.ready.then(() => queue.setGlobalConcurrency(jobs)).catch((error: Error) => this.redisError(error));
      this.announce();
    }
    if (fq) return fq;
    const queue = new Queue(name, { connection: this.options.connection });
    queue.on("error", (error) => this.redisError(error));
    const ready = queue.setGlobalConcurrency(jobs).then(() => this.redisBack(), (error: Error) => this.redisError(error));
    fq = {
      info: { queue: name, appId, functionName: fn.name, concurrencyLimit: fn.options.concurrencyLimit, ...(inputs > 1 ? { concurrentInputs: inputs } : {}) },
      queue,
      ready,
      pending: [],
    };
    this.queues.set(name, fq);
    this.announce();
    return fq;
  }

  /** Adds the jobs of one event-loop turn in one round trip (a `.map` of thousands is a few addBulk calls). */
  private flush(fq: FunctionQueue): void {
    const batch = fq.pending;
    fq.pending = [];
    if (batch.length === 0) return;
    const jobs = batchJobs(batch, this.options.nodes.list().reduce((n, node) => n + node.slots, 0));
    void fq.ready
      .then(() => fq.queue.addBulk(jobs))
      .catch((error: Error) => {
        for (const job of batch) this.finish(job.data.callId, { state: "failed", error: asWire(new Error(`the call could not be queued in Redis: ${error.message}`)) });
      });
  }

  private announce(): void {
    this.options.nodes.broadcast(this.functionsMessage());
  }

  private functionsMessage(): NodeFunctions {
    const { workerMemoryMb, maxOutputBytesOutsideCalls } = this.options.limits;
    return { type: "node.functions", queues: [...this.queues.values()].map((fq) => fq.info), limits: { workerMemoryMb, maxOutputBytesOutsideCalls } };
  }

  private redisError(error: Error): void {
    if (this.redisDown) return;
    this.redisDown = true;
    this.options.log(`stubrun server: cannot reach Redis (${error.message}); calls wait until it is back`);
  }

  private redisBack(): void {
    if (!this.redisDown) return;
    this.redisDown = false;
    this.options.log("stubrun server: Redis is reachable again");
  }
}

/** A worker pool across nodes: one function of one app's code. */
function poolKey(appId: string, codeHash: string, functionName: string): string {
  return `${appId}\0${codeHash}\0${functionName}`;
}

/** A call as its job carries it (the node asks the server for secret values). */
function jobData(request: CallRequest): CallJobData {
  return { callId: request.callId, appId: request.appId, fn: withoutSecretValues(request.fn), codeHash: request.code.hash, entry: request.code.entry, args: request.args, ...(request.params ? { params: request.params } : {}) };
}

/** A function's manifest as nodes get it: secrets by name only, `fromObject` values dropped. */
function withoutSecretValues(fn: FunctionManifest): FunctionManifest {
  const secrets = fn.options.secrets?.filter((s) => s.kind === "name");
  const options = { ...fn.options };
  if (secrets === undefined) delete options.secrets;
  else options.secrets = secrets;
  return { ...fn, options };
}

function asWire(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as Error & { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === "string" ? { code } : {}) };
}
