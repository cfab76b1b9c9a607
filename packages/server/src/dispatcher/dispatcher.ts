import type { Encoded, FunctionManifest, WireError, WorkerSummary } from "@stubrun/protocol";

/** One call as the dispatcher sees it. */
export interface CallRequest {
  callId: string;
  appId: string;
  fn: FunctionManifest;
  /**
   * The app's code: its folder on this server, its content hash (the folder's name, by which a
   * worker node fetches it), and the entry module to load.
   */
  code: { dir: string; hash: string; entry: string };
  args: Encoded[];
}

/** How a call ended. */
export type CallOutcome =
  | { state: "succeeded"; value: Encoded }
  | { state: "failed" | "cancelled" | "timed_out"; error: WireError };

/** Receives what happens to a call: output while it runs, then exactly one outcome. */
export interface CallObserver {
  output(stream: "stdout" | "stderr", data: string): void;
  /** A value a generator function yielded (before the outcome, in order with the output). */
  yield?(value: Encoded): void;
  attempt?(attempt: number): void;
  finished(outcome: CallOutcome): void;
}

/**
 * Runs calls on workers: enqueue, lease to a worker, ack or fail, retry, cancel. The embedded
 * implementation runs a local pool of worker processes; a distributed one (BullMQ, remote
 * `stubrun worker` processes) can take its place, so nothing outside a dispatcher may assume a
 * worker is a child of this server.
 */
export interface Dispatcher {
  /**
   * Throws a RequestRefusedError when the app may not queue another call now (its queue is
   * full); called before a call is recorded, so a refused call leaves no trace.
   */
  admit(appId: string): void;
  enqueue(call: CallRequest, observer: CallObserver): void;
  /** Cancels a queued or running call; false if the dispatcher does not have it. */
  cancel(callId: string, reason?: string): boolean;
  /** Starts workers of a function until it has `keepWarm` of them, and keeps that many alive. */
  keepWarm(appId: string, fn: FunctionManifest, code: CallRequest["code"]): void;
  /** The app moved to other code: calls on `codeDir` finish, then its workers go. */
  retire(appId: string, codeDir: string): void;
  /** Cancels every call of an app and stops its workers. */
  stopApp(appId: string): Promise<void>;
  /** How many workers each function of an app has running. */
  runningTasks(appId: string): number;
  /** The app's workers as the apps page shows them; a dispatcher whose workers run elsewhere may not say. */
  workersOf?(appId: string): WorkerSummary[];
  close(): Promise<void>;
}
