import { decodeValue, fromWireError, type CallResult, type Encoded } from "@stubrun/protocol";
import type { AppSession } from "./session";
import type { CallHandlers, ServerConnection } from "./client/connection";

/** A call started with `.spawn()`: `get()` waits for its result, `cancel()` stops it. */
export class FunctionCall<R = unknown> {
  private constructor(
    /** The call's id, as the server and `app logs` name it. */
    readonly id: string,
    private readonly result: Promise<R>,
    private readonly connection: ServerConnection,
  ) {}

  /**
   * Starts a call and returns once the server has accepted it. With `onYield`, the call is of a
   * generator function and each value it yields is handed over as it comes (`remoteGen`).
   */
  static async start<R>(session: AppSession, functionName: string, args: Encoded[], onYield?: (value: unknown) => void): Promise<FunctionCall<R>> {
    let settle!: (result: CallResult) => void;
    const result = new Promise<R>((resolve, reject) => {
      settle = (r) => (r.ok ? resolve(decodeValue(r.value) as R) : reject(fromWireError(r.error)));
    });
    result.catch(() => {}); // a spawned call nobody waits for must not crash the process.
    const handlers: CallHandlers = { onOutput: writeOutput, onResult: settle, ...(onYield ? { onYield: (value: Encoded) => onYield(decodeValue(value)) } : {}) };
    const id = await session.connection.startCall(session.appId, functionName, args, handlers, session.version, session.params);
    return new FunctionCall(id, result, session.connection);
  }

  /** Waits for the call to end: its return value, or its error re-thrown here. */
  get(): Promise<R> {
    return this.result;
  }

  /** Stops the call; `get()` then rejects with a CallCancelledError. */
  async cancel(): Promise<void> {
    await this.connection.request({ type: "call.cancel", callId: this.id });
  }
}

/** A remote call's output goes to this process's stdout and stderr, unprefixed. */
function writeOutput(stream: "stdout" | "stderr", data: string): void {
  (stream === "stdout" ? process.stdout : process.stderr).write(data);
}
