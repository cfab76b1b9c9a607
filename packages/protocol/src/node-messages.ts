import type { Encoded } from "./codec";
import type { WireError } from "./errors";
import type { ClassParamValues, FunctionManifest } from "./manifest";

/**
 * Messages between the server and a worker node (`stubrun worker`) on the node's WebSocket
 * (`/nodes`, full token). Calls themselves travel through BullMQ queues on Redis; this socket
 * carries what must reach the caller in order (a call's output, then its outcome), the
 * worker's environment (secrets never go through Redis), and cancels.
 */

/** A call's outcome as a node reports it: the LocalDispatcher's `CallOutcome`. */
export type NodeCallOutcome =
  | { state: "succeeded"; value: Encoded }
  | { state: "failed" | "cancelled" | "timed_out"; error: WireError };

/** Messages from a node to the server. */
export type FromNodeMessage = NodeHello | NodeStarted | NodeOutput | NodeYield | NodeDone | NodeEnvRequest | NodeWorkerOutput | NodeAppStopped | NodeTasks | NodeNote | NodeWorkers;

/** The node introduces itself once connected; the server answers with `node.functions`. */
export interface NodeHello {
  type: "node.hello";
  nodeId: string;
  /** How many calls it runs at once. */
  slots: number;
}

/** An attempt of a call started on the node (attempts count from 1). */
export interface NodeStarted {
  type: "node.started";
  callId: string;
  attempt: number;
}

/** Output a call wrote while it ran on the node. */
export interface NodeOutput {
  type: "node.output";
  callId: string;
  stream: "stdout" | "stderr";
  data: string;
}

/** A value a call's generator function yielded, after the output before it (forwarded to the caller as `call.yield`). */
export interface NodeYield {
  type: "node.yield";
  callId: string;
  value: Encoded;
}

/** Output a worker wrote outside any call (its enter and exit hooks): the app's logs and its client show it. */
export interface NodeWorkerOutput {
  type: "node.worker-output";
  appId: string;
  functionName: string;
  stream: "stdout" | "stderr";
  data: string;
}

/** A call's final outcome (a failed attempt that BullMQ will retry is not one). */
export interface NodeDone {
  type: "node.done";
  callId: string;
  outcome: NodeCallOutcome;
}

/**
 * Asks for the environment a worker starts with (the app's credential and the function's
 * secrets): for the function of a call the node runs (`callId`), or for a function the server
 * asked it to keep warm (`appId` and `functionName`).
 */
export type NodeEnvRequest = { type: "node.env"; id: number; callId: string } | { type: "node.env"; id: number; appId: string; functionName: string };

/** A line of stubrun's own for an app's logs (keepWarm workers that keep exiting). */
export interface NodeNote {
  type: "node.note";
  appId: string;
  line: string;
}

/** How many worker processes an app has on the node now (sent when it changes). */
export interface NodeTasks {
  type: "node.tasks";
  appId: string;
  count: number;
}

/**
 * The node's workers of one function of one app's code (sent when this changes): how many are
 * idle, and whether one was ever ready there. The server sends a call to a node with an idle
 * worker of its function, and starts one worker in all until one was ready.
 */
export interface NodeWorkers {
  type: "node.workers";
  appId: string;
  codeHash: string;
  functionName: string;
  idle: number;
  ready: boolean;
}

/** The node stopped every worker of an app (`node.stop-app`): their exit hooks ran, their processes are gone. */
export interface NodeAppStopped {
  type: "node.app-stopped";
  appId: string;
}

/** Messages from the server to a node. */
export type ToNodeMessage = NodeFunctions | NodeCancel | NodeEnvReply | NodeStopApp | NodeRetire | NodeKeepWarm;

/** Keep the function's `keepWarm` workers alive on this node, before any call (the server gives each such function to one node). */
export interface NodeKeepWarm {
  type: "node.keep-warm";
  appId: string;
  /** Without secret values, as in a job. */
  fn: FunctionManifest;
  codeHash: string;
  entry: string;
}

/** An app stopped: stop its workers (exit hooks run), then say `node.app-stopped`. */
export interface NodeStopApp {
  type: "node.stop-app";
  appId: string;
}

/** An app moved to other code: workers of this code finish their calls, then go. */
export interface NodeRetire {
  type: "node.retire";
  appId: string;
  codeHash: string;
}

/** One function queue a node should take calls from. */
export interface NodeQueue {
  /** The BullMQ queue's name. */
  queue: string;
  appId: string;
  /** `Class.method`. */
  functionName: string;
  /** The most workers of the function at once, across all nodes. */
  concurrencyLimit: number;
  /** Calls one worker serves at once: the queue runs up to `concurrencyLimit * concurrentInputs` jobs. @default 1 */
  concurrentInputs?: number;
}

/** Every function queue that exists now: the node takes from these and leaves any other. */
export interface NodeFunctions {
  type: "node.functions";
  queues: NodeQueue[];
  /** The server's limits that its workers follow, wherever they run. */
  limits: NodeWorkerLimits;
}

/** The server's limits (its config.json) that apply to each worker. */
export interface NodeWorkerLimits {
  /** Each worker's V8 heap. */
  workerMemoryMb: number;
  /** Output a worker may write outside its calls. */
  maxOutputBytesOutsideCalls: number;
}

/** Cancel a call the node may be running (or about to run). */
export interface NodeCancel {
  type: "node.cancel";
  callId: string;
}

/** What a worker's environment needs from the server, for `node.env` request `id`. */
export type NodeEnvReply =
  | { type: "node.env-reply"; id: number; ok: true; value: NodeWorkerEnv }
  | { type: "node.env-reply"; id: number; ok: false; error: WireError };

/** The server's part of a worker's environment; the node adds the basics and its image. Held in memory only. */
export interface NodeWorkerEnv {
  /** The app's credential, for calls the function makes back to the server. */
  appToken: string;
  /** The function's secrets, resolved now. */
  secrets: Record<string, string>;
  /** The app's environment (STUBRUN_ENV in its workers); "main" when absent. */
  env?: string;
}

/** What a call's BullMQ job carries (never secret values). */
export interface CallJobData {
  callId: string;
  appId: string;
  /** The function, with `options.secrets` by name only and `object` secrets dropped. */
  fn: FunctionManifest;
  /** The code folder's content hash: the node fetches the code by it. */
  codeHash: string;
  /** Entry module, relative to the code folder. */
  entry: string;
  args: Encoded[];
  /** Values of the class's `@stub.parameter()` properties, checked by the server. */
  params?: ClassParamValues;
  /**
   * The node the server sends the call to, because it has an idle worker of the function: another
   * node that takes the job hands it back (a few times at most), unless it has an idle one too.
   */
  node?: string;
  /** How many times a node handed the job back for `node`. */
  handedBack?: number;
  /**
   * Several calls of the function in one job (inputs of a `.map`, batched by the server), run one
   * after another in one slot; `callId` and `args` are then the first's.
   */
  batch?: { callId: string; args: Encoded[] }[];
}
