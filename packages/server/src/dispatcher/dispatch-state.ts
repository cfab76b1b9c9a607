import { canonicalClassParams } from "@stubrun/protocol";
import { createHash } from "node:crypto";
import type { CallObserver, CallRequest } from "./dispatcher";
import { CallQueue } from "./call-queue";
import type { Timer } from "./long-timer";
import type { OutputBudget } from "./output-budget";
import { WarmBackoff } from "./warm-backoff";
import type { WorkerProcess } from "./worker-process";

/** Where a call is: waiting in its pool's queue, on a worker, waiting to retry, or ended. */
export type CallState = "queued" | "running" | "waiting-retry" | "done";

/** One call as the LocalDispatcher tracks it. */
export interface Call {
  request: CallRequest;
  observer: CallObserver;
  attempt: number;
  state: CallState;
  pool?: Pool;
  worker?: WorkerProcess;
  timeoutTimer?: Timer;
  retryTimer?: Timer;
}

/** The workers and waiting calls of one function of one app (on one version of its code). */
export interface Pool {
  key: string;
  appId: string;
  fn: CallRequest["fn"];
  code: CallRequest["code"];
  /** The class parameter values its workers are made with. */
  params: CallRequest["params"];
  /** Set when its app stops: no worker is started or replaced any more. */
  stopped: boolean;
  /** Set when its app moved to other code: it serves what it has queued, then its workers go. */
  retiring: boolean;
  workers: Set<WorkerProcess>;
  queue: CallQueue<Call>;
  /** Calls in `queue` still waiting (the queue also holds cancelled ones, skipped in turn). */
  queued: number;
  /** Whether a worker of it ever became ready: until then it starts one worker at a time. */
  everReady: boolean;
  /** When its keepWarm workers that died are replaced, and the timer that will. */
  warmBackoff: WarmBackoff;
  warmRetry?: Timer;
  /** Set while it waits to know how long its calls take before starting more workers (prefetch.ts). */
  sampleTimer?: Timer;
}

/** What the dispatcher keeps about each worker. */
export interface WorkerInfo {
  pool: Pool;
  startedAt: number;
  /** Calls it has finished, for the apps page. */
  callsServed: number;
  /** Set when the dispatcher asked it to stop or killed it: its exit is no failure. */
  stopRequested: boolean;
  /** Set when a call timed out or was cancelled on it while it ran others: it takes no more calls, and is killed once they end. */
  draining?: boolean;
  idleTimer?: Timer;
  /** Its output outside calls, capped. */
  outside: OutputBudget;
}

/** The pool key of a call: its app, function, code, and a hash of its class parameter values (each set has workers of its own). */
export function poolKey(request: CallRequest): string {
  return `${request.appId}\0${request.fn.name}\0${request.code.dir}\0${paramsHash(request.params)}`;
}

/** A short hash of the canonical form of parameter values; "" for none (the defaults). */
export function paramsHash(params: CallRequest["params"]): string {
  const canonical = canonicalClassParams(params);
  return canonical === "" ? "" : createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

/** A pool with no workers and nothing queued. */
export function newPool(request: CallRequest): Pool {
  return {
    key: poolKey(request),
    appId: request.appId,
    fn: request.fn,
    code: request.code,
    params: request.params,
    stopped: false,
    retiring: false,
    workers: new Set(),
    queue: new CallQueue(),
    queued: 0,
    everReady: false,
    warmBackoff: new WarmBackoff(),
  };
}

/** The error's own first line, followed by the stack frames of the error that caused it. */
export function withFrames(error: Error, causeStack: string | undefined): string {
  const frames = (typeof causeStack === "string" ? causeStack : "").split("\n").filter((line) => /^\s+at /.test(line));
  return [`${error.name}: ${error.message}`, ...frames].join("\n");
}
