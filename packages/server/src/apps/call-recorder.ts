import type { Encoded, WireError } from "@stubrun/protocol";
import type { CallOutcome } from "../dispatcher/dispatcher";
import type { CallsRepository } from "../state/calls.repository";
import type { LogsRepository } from "../state/logs.repository";

/** Characters of a call's encoded arguments kept for its page; the rest is cut. */
export const ARGS_PREVIEW_CHARS = 4096;

/**
 * Writes what happens to apps and their calls to the `calls` and `logs` tables: with each call,
 * a preview of its arguments, and its result (up to `maxKeptResultBytes`) or error, so it can be
 * read by id and shown on its page.
 */
export class CallRecorder {
  constructor(
    private readonly calls: CallsRepository,
    private readonly logs: LogsRepository,
    private readonly maxKeptResultBytes = 1024 * 1024,
  ) {}

  /** A line of stubrun's own in the app's logs. */
  note(appId: string, line: string): void {
    this.logs.append({ appId, callId: null, functionName: null, stream: "system", data: `${line}\n` });
  }

  /** Output of a worker outside any call (enter and exit hooks). */
  workerOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void {
    this.logs.append({ appId, callId: null, functionName, stream, data });
  }

  started(callId: string, appId: string, functionName: string, args?: Encoded[]): void {
    this.calls.started(callId, appId, functionName, Date.now(), args === undefined ? null : preview(args));
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
    this.calls.finished(callId, outcome.state, Date.now(), error, "error" in outcome ? { errorJson: bounded(outcome.error, this.maxKeptResultBytes) } : { result: bounded(outcome.value, this.maxKeptResultBytes) });
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

/** The arguments as JSON, cut at ARGS_PREVIEW_CHARS (an argument that large is cut before it is written whole). */
function preview(args: Encoded[]): string {
  // Numbers, flags and short texts (a `.map()`'s usual inputs) need no replacer, which makes JSON.stringify several times slower.
  const text = args.every(isSmallPrimitive) ? JSON.stringify(args) : JSON.stringify(args, (_key, value: unknown) => (typeof value === "string" && value.length > ARGS_PREVIEW_CHARS ? value.slice(0, ARGS_PREVIEW_CHARS) : value));
  return text.length > ARGS_PREVIEW_CHARS ? `${text.slice(0, ARGS_PREVIEW_CHARS)}…` : text;
}

function isSmallPrimitive(arg: Encoded): boolean {
  return arg === null || typeof arg === "number" || typeof arg === "boolean" || (typeof arg === "string" && arg.length <= ARGS_PREVIEW_CHARS);
}

/** A value as JSON when it fits in `max` bytes; null (not kept) when it does not. */
function bounded(value: unknown, max: number): string | null {
  const text = JSON.stringify(value);
  // Most characters are one byte: only a text near the limit needs counting.
  if (text.length > max || (text.length * 3 > max && Buffer.byteLength(text) > max)) return null;
  return text;
}

function describe(error: WireError): string {
  return `${error.name}: ${error.message}`;
}
