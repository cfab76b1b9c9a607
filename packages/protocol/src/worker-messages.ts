import type { VolumeMount } from "./object-messages";
import type { Encoded } from "./codec";
import type { WireError } from "./errors";
import type { ClassParamValues } from "./manifest";

/** What a worker needs to start: where the code is and which function it serves. */
export interface WorkerConfig {
  workerId: string;
  /** Directory holding the uploaded, compiled code. */
  codeDir: string;
  /** Entry module, relative to `codeDir`. */
  entry: string;
  className: string;
  methodName: string;
  /** The function's built image: bare imports the code's folder cannot resolve fall back to its node_modules. */
  imageDir?: string;
  /** Values of the class's `@stub.parameter()` properties, set on the instance before its enter hooks run. */
  params?: ClassParamValues;
  /** Calls it may be sent at once (`concurrentInputs`): above 1, each call's output is told apart by an AsyncLocalStorage. @default 1 */
  concurrentInputs?: number;
  /** The Volumes mounted on the function: the worker loads each one's head into its path before it is ready. */
  volumes?: VolumeMount[];
}

/**
 * Messages from the server to a worker. On the IPC channel, a payload is one message or an array
 * of them (a turn's messages in one write: `IpcBatcher`), both ways.
 */
export type ToWorkerMessage = WorkerLoad | WorkerRunCall | WorkerDropCall | WorkerShutdown;

/**
 * Become a function's worker: sent to a worker started ahead with no code (one forked with
 * STUBRUN_WORKER_CONFIG needs none). Its environment is replaced by `env` before the code loads;
 * `ready` or `start-failed` follows, as for a worker started for the function.
 */
export interface WorkerLoad {
  type: "load";
  config: WorkerConfig;
  env: Record<string, string>;
}

/** Run one call with the worker's instance; one that comes while a call runs waits its turn (prefetch). */
export interface WorkerRunCall {
  type: "run";
  callId: string;
  args: Encoded[];
}

/** Forget a call that was sent ahead and has not started (it was cancelled). */
export interface WorkerDropCall {
  type: "drop";
  callId: string;
}

/** Run exit hooks and leave. */
export interface WorkerShutdown {
  type: "shutdown";
}

/** Messages from a worker to the server. */
export type FromWorkerMessage = WorkerReady | WorkerStartFailed | WorkerOutput | WorkerYield | WorkerCallDone;

/** A value a generator function yielded during a call, in order with its output. */
export interface WorkerYield {
  type: "yield";
  callId: string;
  value: Encoded;
}

/** The code is loaded and the enter hooks ran: calls may come. */
export interface WorkerReady {
  type: "ready";
}

/** Loading the code or an enter hook failed; the worker exits after sending this. */
export interface WorkerStartFailed {
  type: "start-failed";
  error: WireError;
}

/** Output the worker wrote: during a call (with its id), or outside one (enter and exit hooks: null). */
export interface WorkerOutput {
  type: "output";
  callId: string | null;
  stream: "stdout" | "stderr";
  data: string;
}

/** A call finished; `ms`: how long it ran, by the worker's clock (what decides prefetch). */
export type WorkerCallDone =
  | { type: "done"; callId: string; ok: true; value: Encoded; ms?: number }
  | { type: "done"; callId: string; ok: false; error: WireError; ms?: number };
