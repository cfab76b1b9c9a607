/**
 * The error family of stubrun. Every error has a stable `code`, and keeps its class across the
 * wire: `decodeError` rebuilds these by name, so `instanceof` works on the far side.
 */
export class StubrunError extends Error {
  /** A stable, machine-readable code. */
  readonly code: string = "STUBRUN_ERROR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The user asked for something that cannot be done as asked (CLI exit code 2). */
export class UsageError extends StubrunError {
  override readonly code = "USAGE";
}

/** A value that cannot cross the wire (a function, a class instance, a symbol, a cycle). */
export class UncarriableValueError extends StubrunError {
  override readonly code = "UNCARRIABLE_VALUE";
}

/** The server could not be reached, or went away. */
export class ServerUnavailableError extends StubrunError {
  override readonly code = "SERVER_UNAVAILABLE";
}

/** A peer sent a message that breaks the protocol (malformed, unknown or oversized). */
export class ProtocolError extends StubrunError {
  override readonly code = "PROTOCOL";
}

/** The server refused a request (unknown app or function, a stopped app, bad manifest...). */
export class RequestRefusedError extends StubrunError {
  override readonly code = "REFUSED";
}

/** The worker running a call died before the call ended. */
export class WorkerCrashedError extends StubrunError {
  override readonly code = "WORKER_CRASHED";
}

/** A call ran longer than its function's `timeout`. */
export class FunctionTimeoutError extends StubrunError {
  override readonly code = "TIMEOUT";
}

/** A call was cancelled (by `call.cancel()`, or because its app stopped). */
export class CallCancelledError extends StubrunError {
  override readonly code = "CANCELLED";
}

/** The worker could not start: its code failed to load, or an enter hook threw. */
export class WorkerStartError extends StubrunError {
  override readonly code = "WORKER_START";
}

const knownErrors: Record<string, new (message: string) => Error> = {
  StubrunError,
  UsageError,
  UncarriableValueError,
  ServerUnavailableError,
  ProtocolError,
  RequestRefusedError,
  WorkerCrashedError,
  FunctionTimeoutError,
  CallCancelledError,
  WorkerStartError,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** An error as it crosses the wire. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

/** Flattens any thrown value into a WireError. */
export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const wire: WireError = { name: error.name, message: error.message, stack: error.stack };
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") wire.code = code;
    return wire;
  }
  return { name: "Error", message: `a non-Error value was thrown: ${describeThrown(error)}` };
}

function describeThrown(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}

/**
 * A WireError for an error the system raised (a timeout, a crash, a cancel): its stack would only
 * show stubrun's internals, so it carries none.
 */
export function systemWireError(error: StubrunError): WireError {
  return { name: error.name, message: error.message, stack: `${error.name}: ${error.message}`, code: error.code };
}

/** Rebuilds an Error from its wire form: our own classes and the built-ins come back as themselves. */
export function fromWireError(wire: WireError): Error {
  const Known = Object.prototype.hasOwnProperty.call(knownErrors, wire.name) ? knownErrors[wire.name] : Error;
  const error = new Known(wire.message);
  if (error.name !== wire.name) {
    Object.defineProperty(error, "name", { value: wire.name, writable: true, configurable: true, enumerable: false });
  }
  error.stack = wire.stack ?? `${wire.name}: ${wire.message}`;
  if (wire.code !== undefined && !(error instanceof StubrunError)) {
    Object.defineProperty(error, "code", { value: wire.code, writable: true, configurable: true, enumerable: true });
  }
  return error;
}
