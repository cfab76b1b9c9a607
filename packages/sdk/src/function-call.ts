import { CallWaitTimeoutError, decodeValue, fromWireError, RequestRefusedError, serverUrlFromEnv, type CallInfo, type CallResult, type Encoded } from "@stubrun/protocol";
import type { AppSession } from "./session";
import type { CallHandlers, ServerConnection } from "./client/connection";
import { apiFetch, serverSentEvents } from "./client/http-api";

/** Options of `call.get()`. */
export interface GetOptions {
  /**
   * How long to wait for the call to end, in ms; then `get()` rejects with a
   * CallWaitTimeoutError (the call goes on running). `0` only looks: the result if the call has
   * ended, else that error at once. @default undefined (wait as long as it takes)
   */
  timeoutMs?: number;
}

/** A line a call printed, as `call.logs()` yields it. */
export interface CallLogLine {
  /** "system" for stubrun's own lines (why a call failed). */
  stream: "stdout" | "stderr" | "system";
  data: string;
  /** When the server received it. */
  at: Date;
}

/** The longest a server holds one wait open; a longer wait asks again (see calls-routes.ts). */
const WAIT_SLICE_MS = 20_000;

/**
 * A call started with `.spawn()`, or found by its id with `FunctionCall.fromId(id)`: `get()`
 * waits for its result, `cancel()` stops it, `logs()` follows what it prints.
 */
export class FunctionCall<R = unknown> {
  private settled: { ok: true; value: R } | { ok: false; error: unknown } | undefined;

  private constructor(
    /** The call's id, as the server, `app logs --call` and the apps page name it. */
    readonly id: string,
    private readonly serverUrl: string,
    /** The result of a call this process started and still holds the connection of. */
    private readonly result?: Promise<R>,
    private readonly connection?: ServerConnection,
  ) {
    result?.then(
      (value) => (this.settled = { ok: true, value }),
      (error: unknown) => (this.settled = { ok: false, error }),
    );
  }

  /**
   * Starts a call and returns once the server has accepted it. With `onYield`, the call is of a
   * generator function and each value it yields is handed over as it comes (`remoteGen`).
   */
  static async start<R>(session: AppSession, functionName: string, args: Encoded[], onYield?: (value: unknown) => void): Promise<FunctionCall<R>> {
    let settle!: (result: CallResult) => void;
    const result = new Promise<R>((resolve, reject) => {
      settle = (r) => {
        const outcome = outcomeOfResult<R>(r);
        if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
      };
    });
    result.catch(() => {}); // a spawned call nobody waits for must not crash the process.
    const handlers: CallHandlers = { onOutput: writeOutput, onResult: settle, ...(onYield ? { onYield: (value: Encoded) => onYield(decodeValue(value)) } : {}) };
    const id = await session.connection.startCall(session.appId, functionName, args, handlers, session.version, session.params);
    return new FunctionCall(id, session.connection.url, result, session.connection);
  }

  /**
   * A call by its id, from any program (another process, after a restart of this one): the
   * server at `STUBRUN_SERVER_URL` keeps its state, and its result for
   * `limits.callResultRetentionHours` (24 by default) after it ends. Nothing is asked of the
   * server until `get()`, `cancel()` or `logs()`; an unknown id rejects there.
   */
  static fromId<R = unknown>(id: string): FunctionCall<R> {
    if (typeof id !== "string" || !/^[\w.-]{1,100}$/.test(id)) throw new TypeError(`FunctionCall.fromId(id): id must be a call id like "fc-ab12cd1", got ${JSON.stringify(id)}`);
    return new FunctionCall<R>(id, serverUrlFromEnv());
  }

  /**
   * Waits for the call to end: its return value, or its error re-thrown here. With `timeoutMs`,
   * rejects with a CallWaitTimeoutError once that much time has passed (`0`: at once unless it
   * has ended); the call itself goes on.
   */
  async get(options: GetOptions = {}): Promise<R> {
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !(timeoutMs >= 0))) {
      throw new TypeError(`call.get({ timeoutMs }): timeoutMs must be a number of ms >= 0, got ${String(timeoutMs)}`);
    }
    if (this.result) return this.getLive(this.result, timeoutMs);
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      const waitMs = Math.max(0, Math.min(WAIT_SLICE_MS, deadline - Date.now()));
      const info = (await (await apiFetch(this.serverUrl, `/api/calls/${encodeURIComponent(this.id)}?waitMs=${Math.floor(waitMs)}`)).json()) as CallInfo;
      if (info.state !== "running") return outcomeOf<R>(info);
      if (Date.now() >= deadline) throw this.timedOut(timeoutMs as number);
    }
  }

  /** Stops the call if it still runs; `get()` then rejects with a CallCancelledError. */
  async cancel(): Promise<void> {
    if (this.connection) {
      await this.connection.request({ type: "call.cancel", callId: this.id });
      return;
    }
    await apiFetch(this.serverUrl, `/api/calls/${encodeURIComponent(this.id)}/cancel`, { method: "POST" });
  }

  /**
   * What the call printed, line by line (stdout, stderr, and stubrun's line saying why it
   * failed), from its start; while it runs, new lines as they come, until it ends. Breaking out
   * of the loop stops following.
   */
  async *logs(): AsyncGenerator<CallLogLine> {
    const abort = new AbortController();
    try {
      const res = await apiFetch(this.serverUrl, `/api/calls/${encodeURIComponent(this.id)}/logs?follow=1&limit=10000`, { signal: abort.signal });
      for await (const { event, data } of serverSentEvents(res)) {
        if (event === "log") {
          const entry = data as { stream: CallLogLine["stream"]; data: string; at: number };
          yield { stream: entry.stream, data: entry.data, at: new Date(entry.at) };
        } else if (event === "end" || event === "behind") {
          if (event === "behind") throw new Error(`stopped following the logs of call ${this.id}: ${(data as { error: string }).error}`);
          return;
        }
      }
    } finally {
      abort.abort();
    }
  }

  private async getLive(result: Promise<R>, timeoutMs: number | undefined): Promise<R> {
    if (this.settled) return this.settled.ok ? this.settled.value : Promise.reject(this.settled.error);
    if (timeoutMs === undefined) return result;
    if (timeoutMs === 0) throw this.timedOut(0);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(this.timedOut(timeoutMs)), timeoutMs)));
    try {
      return await Promise.race([result, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private timedOut(timeoutMs: number): CallWaitTimeoutError {
    return new CallWaitTimeoutError(
      timeoutMs === 0
        ? `call ${this.id} has not ended yet (call.get({ timeoutMs: 0 }) only looks); it is still running: get it again later, or cancel it`
        : `call ${this.id} did not end within ${timeoutMs} ms (call.get({ timeoutMs: ${timeoutMs} })); it is still running: get it again later, or cancel it`,
    );
  }
}

/** The value of an ended call, or its error thrown. */
function outcomeOf<R>(info: CallInfo): R {
  if (info.state === "succeeded") {
    if (info.unavailable !== undefined) throw new RequestRefusedError(info.unavailable);
    return decodeValue(info.result as Encoded) as R;
  }
  if (info.error) throw fromWireError(info.error);
  throw new RequestRefusedError(info.unavailable ?? `call ${info.id} ended ${info.state.replace("_", " ")}`);
}

/** A call's result as its value, or its error (a value that cannot be decoded is one too). */
export function outcomeOfResult<R>(result: CallResult): { ok: true; value: R } | { ok: false; error: Error } {
  if (!result.ok) return { ok: false, error: fromWireError(result.error) };
  try {
    return { ok: true, value: decodeValue(result.value) as R };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** A remote call's output goes to this process's stdout and stderr, unprefixed. */
export function writeOutput(stream: "stdout" | "stderr", data: string): void {
  (stream === "stdout" ? process.stdout : process.stderr).write(data);
}
