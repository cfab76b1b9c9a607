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

/** `call.get({ timeoutMs })` gave up waiting: the call is still running (it was not stopped). */
export class CallWaitTimeoutError extends StubrunError {
  override readonly code = "CALL_WAIT_TIMEOUT";
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
  CallWaitTimeoutError,
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
  /** The error's own fields (`new QuotaError(...).limit`), each encoded by the value codec. */
  fields?: Record<string, unknown>;
}

/** How error fields are encoded and decoded: the value codec, which sets it when it loads (codec.ts imports this file). */
let fieldCodec: { encode(value: unknown, path: string): unknown; decode(data: unknown): unknown } | undefined;
export function useFieldCodec(codec: NonNullable<typeof fieldCodec>): void {
  fieldCodec = codec;
}

/** Error classes known in this process, by name: an error of that name from a worker comes back as one. */
const ERROR_CLASSES = Symbol.for("stubrun.errorClasses");
const errorClasses = ((globalThis as { [ERROR_CLASSES]?: Map<string, Function> })[ERROR_CLASSES] ??= new Map<string, Function>());

/**
 * Makes errors of this class thrown in a worker arrive as instances of it (`instanceof` works,
 * with their fields). The CLI registers the error classes your files declare by itself.
 */
export function registerErrorClass(cls: new (...args: never[]) => Error): void {
  if (typeof cls !== "function" || !(cls.prototype instanceof Error)) throw new TypeError("registerErrorClass(cls): cls must be a class that extends Error");
  errorClasses.set(cls.name, cls);
}

/** Fields of an error that are its own and not the standard ones. */
const STANDARD_FIELDS = new Set(["name", "message", "stack", "code", "cause"]);

/** Flattens any thrown value into a WireError, with the fields the value codec can carry (the others are left out). */
export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const wire: WireError = { name: error.name, message: error.message, stack: error.stack };
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") wire.code = code;
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(error)) {
      if (STANDARD_FIELDS.has(key) || !fieldCodec) continue;
      try {
        fields[key] = fieldCodec.encode((error as unknown as Record<string, unknown>)[key], `field ${key} of ${error.name}`);
      } catch {
        // a field the codec cannot carry (a function, a class instance) stays behind
      }
    }
    if (Object.keys(fields).length > 0) wire.fields = fields;
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

/**
 * Rebuilds an Error from its wire form: our own classes, the built-ins and the classes known here
 * (registerErrorClass) come back as themselves, with their fields; any other keeps its name and fields.
 */
export function fromWireError(wire: WireError): Error {
  const registered = errorClasses.get(wire.name);
  const Known = Object.prototype.hasOwnProperty.call(knownErrors, wire.name) ? knownErrors[wire.name] : Error;
  // A user's class is not constructed (its constructor may want other arguments): made from its prototype.
  const error: Error = registered ? Object.create(registered.prototype) : new Known(wire.message);
  if (registered) Object.defineProperty(error, "message", { value: wire.message, writable: true, configurable: true, enumerable: false });
  if (error.name !== wire.name) {
    Object.defineProperty(error, "name", { value: wire.name, writable: true, configurable: true, enumerable: false });
  }
  error.stack = wire.stack ?? `${wire.name}: ${wire.message}`;
  if (wire.code !== undefined && !(error instanceof StubrunError)) {
    Object.defineProperty(error, "code", { value: wire.code, writable: true, configurable: true, enumerable: true });
  }
  for (const [key, data] of Object.entries(wire.fields ?? {})) {
    if (STANDARD_FIELDS.has(key) || key === "__proto__" || !fieldCodec) continue;
    Object.defineProperty(error, key, { value: fieldCodec.decode(data), writable: true, configurable: true, enumerable: true });
  }
  return error;
}
