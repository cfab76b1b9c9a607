import type { WireError } from "@stubrun/protocol";
import type { CallOutcome } from "../dispatcher/dispatcher";
import type { CallsRepository } from "../state/calls.repository";
import type { LogsRepository } from "../state/logs.repository";

/** Writes what happens to apps and their calls to the `calls` and `logs` tables. */
export class CallRecorder {
  constructor(
    private readonly calls: CallsRepository,
    private readonly logs: LogsRepository,
  ) {}

  /** A line of stubrun's own in the app's logs. */
  note(appId: string, line: string): void {
    this.logs.append({ appId, callId: null, functionName: null, stream: "system", data: `${line}\n` });
  }

  /** Output of a worker outside any call (enter and exit hooks). */
  workerOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void {
    this.logs.append({ appId, callId: null, functionName, stream, data });
  }

  started(callId: string, appId: string, functionName: string): void {
    this.calls.started(callId, appId, functionName, Date.now());
  }

  output(appId: string, callId: string, functionName: string, stream: "stdout" | "stderr", data: string): void {
    this.logs.append({ appId, callId, functionName, stream, data });
  }

  /** A retry: the call's attempt count (the first attempt is not written). */
  attempt(callId: string, n: number): void {
    if (n > 1) this.calls.attempt(callId, n);
  }

  /** The call's end; a failure also gets a line in the app's logs saying why. */
  finished(appId: string, callId: string, functionName: string, outcome: CallOutcome): void {
    const error = "error" in outcome ? describe(outcome.error) : undefined;
    this.calls.finished(callId, outcome.state, Date.now(), error);
    this.logs.callEnded(callId);
    if (error) this.logs.append({ appId, callId, functionName, stream: "system", data: `${functionName} call ${callId} ${outcome.state.replace("_", " ")}: ${error}\n` });
  }

  /** The app has stopped: its calls are written, then its last line, and the logs flushed. */
  appStopped(appId: string): void {
    this.calls.flush();
    this.note(appId, `app ${appId} stopped`);
    this.logs.flush();
  }
}

function describe(error: WireError): string {
  return `${error.name}: ${error.message}`;
}
