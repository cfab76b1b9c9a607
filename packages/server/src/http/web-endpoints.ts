import {
  decodeValue,
  describeParamType,
  encodeRequest,
  encodeValue,
  wireResponseOf,
  type Encoded,
  DEFAULT_ENV,
  envNameProblem,
  isWithinDepth,
  kebabCase,
  parseParamText,
  RequestRefusedError,
  UncarriableValueError,
  UsageError,
  type FunctionManifest,
  type ParamManifest,
} from "@stubrun/protocol";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppManager } from "../apps/app-manager";
import type { ServerLimits } from "../config/limits";
import type { CallOutcome } from "../dispatcher/dispatcher";
import type { AppResolver } from "../apps/app-resolver";
import type { AppRecord } from "../state/apps.repository";
import { findTooDeepJson } from "./json-text-depth";

/** An HTTP error with its status, answered as `{ error, ...extra }`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The limits web endpoints enforce. */
export type WebEndpointLimits = Pick<ServerLimits, "maxBodyBytes" | "maxValueDepth" | "maxWebRequestsPerApp">;

/**
 * `SERVER_URL/web/APP/Class.method`: a web endpoint of a deployed app (APP its name) or of a
 * running app (APP its id); `SERVER_URL/web/ENV/APP/Class.method` for an app of environment ENV. GET reads the query string with the CLI's rules; POST reads a JSON
 * object keyed by parameter name. The reply is the return value as JSON.
 *
 * Web endpoints are public, so each request is bounded: its body (`maxBodyBytes`), the nesting
 * of its values (`maxValueDepth`), the calls of one app running at once (`maxWebRequestsPerApp`,
 * more answer 503); a call whose client went away is cancelled.
 */
export class WebEndpoints {
  /** Web calls running per app id. */
  private readonly running = new Map<string, number>();

  constructor(
    private readonly resolver: AppResolver,
    private readonly manager: AppManager,
    private readonly limits: WebEndpointLimits,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, appRef: string, functionName: string, env: string): Promise<void> {
    let closed = false;
    res.once("close", () => (closed = true));
    try {
      const { record, fn } = this.endpoint(req, res, appRef, functionName, env);
      const method = fn.webMethod ?? "GET";
      const raw = ownsHttp(fn);
      if (method === "POST" || raw) refuseDeclaredBody(req, this.limits.maxBodyBytes);
      this.checkCapacity(record);
      let encoded: Encoded[];
      if (raw) {
        // It takes the Request: the HTTP request as it came, body included (up to maxBodyBytes).
        const body = req.method === "GET" || req.method === "HEAD" ? undefined : await readBytes(req, this.limits.maxBodyBytes);
        encoded = [encodeRequest({ method: req.method ?? "GET", url: `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, headers: headerPairs(req), ...(body ? { body: body.toString("base64") } : {}) })];
      } else {
        const args = method === "GET" ? argsFromQuery(fn, url.searchParams) : argsFromBody(fn, await readJson(req, this.limits.maxBodyBytes, this.limits.maxValueDepth), this.limits.maxValueDepth);
        args.forEach((value, i) => checkValue(fn.params[i]?.name ?? String(i + 1), value, this.limits.maxValueDepth));
        encoded = args.map((value, i) => encodeValue(value, `parameter "${fn.params[i]?.name ?? i + 1}"`));
      }
      if (closed) return; // the client left while its body arrived: nothing to run for
      this.checkCapacity(record);
      this.start(res, record, functionName, encoded);
    } catch (error) {
      if (error instanceof HttpError && error.status === 413) return answerTooLarge(req, res, error);
      if (error instanceof HttpError) return reply(res, error.status, { error: error.message, ...error.extra }, error.headers);
      if (error instanceof UsageError || error instanceof UncarriableValueError) return reply(res, 400, { error: error.message });
      if (error instanceof RequestRefusedError) return reply(res, 503, { error: error.message }, { "retry-after": "1" });
      throw error; // answered 500, without its stack, by the server's guard
    }
  }

  /** The running app and its web endpoint, or the 404 or 405 that says why not. */
  private endpoint(req: IncomingMessage, res: ServerResponse, appRef: string, functionName: string, env: string): { record: AppRecord; fn: FunctionManifest } {
    const record = envNameProblem(env) ? undefined : this.resolver.resolve(appRef, env);
    if (!record || !this.manager.isRunning(record.id)) throw new HttpError(404, `no running app with name or id "${appRef}"${env === DEFAULT_ENV ? "" : ` in environment ${env}`}`);
    const app = this.manager.runningApp(record.id);
    let fn: FunctionManifest;
    try {
      fn = this.manager.functionOf(app, functionName);
    } catch (error) {
      throw new HttpError(404, (error as Error).message);
    }
    if (fn.kind !== "webEndpoint") throw new HttpError(404, `${functionName} of app ${appRef} is not a web endpoint`);
    const method = fn.webMethod ?? "GET";
    // One that takes the Request answers any method: it sees which in request.method.
    if (req.method !== method && !ownsHttp(fn)) {
      res.setHeader("allow", method);
      throw new HttpError(405, `${functionName} answers ${method}, not ${req.method}`);
    }
    return { record, fn };
  }

  private checkCapacity(record: AppRecord): void {
    const max = this.limits.maxWebRequestsPerApp;
    if ((this.running.get(record.id) ?? 0) >= max) {
      throw new HttpError(
        503,
        `app ${record.name ?? record.id} is already running ${max} web endpoint calls (limits.maxWebRequestsPerApp); try again shortly, or raise the limit in $STUBRUN_HOME/config.json`,
        { "retry-after": "1" },
      );
    }
  }

  /** Starts the call; it answers when the call ends, and is cancelled if the client leaves first. */
  private start(res: ServerResponse, record: AppRecord, functionName: string, encoded: ReturnType<typeof encodeValue>[]): void {
    let ended = false;
    this.running.set(record.id, (this.running.get(record.id) ?? 0) + 1);
    let callId: string;
    try {
      callId = this.manager.startCall(record.id, functionName, encoded, {
        output: () => {},
        result: (_callId, outcome) => {
          ended = true;
          this.release(record.id);
          try {
            answerOutcome(res, outcome, record);
          } catch (error) {
            // Never into the dispatcher that told us.
            process.stderr.write(`stubrun server: error answering web call ${_callId}: ${(error as Error).stack ?? String(error)}\n`);
            res.destroy();
          }
        },
      });
    } catch (error) {
      if (!ended) this.release(record.id);
      throw error;
    }
    res.once("close", () => {
      if (!ended) this.manager.cancelCall(callId);
    });
  }

  private release(appId: string): void {
    const n = (this.running.get(appId) ?? 1) - 1;
    if (n > 0) this.running.set(appId, n);
    else this.running.delete(appId);
  }
}

/** The call's outcome as the reply: its value as JSON, or its error's message (never a stack or a server path). */
function answerOutcome(res: ServerResponse, outcome: CallOutcome, record: AppRecord): void {
  if (res.headersSent || res.destroyed) return;
  if (outcome.state === "succeeded") {
    if (answerRaw(res, outcome.value)) return;
    let value: unknown;
    try {
      value = toJson(decodeValue(outcome.value));
    } catch (error) {
      return reply(res, 500, { error: `the return value could not be sent as JSON: ${(error as Error).message}` });
    }
    return reply(res, 200, value);
  }
  const status = outcome.state === "timed_out" ? 504 : outcome.state === "cancelled" ? 503 : 500;
  // The worker's start error names files of the server's code store: the app's logs have it.
  const message =
    outcome.error.name === "WorkerStartError"
      ? `the function could not start; its app's logs say why: npx stubrun app logs ${record.name ?? record.id}`
      : outcome.error.message;
  reply(res, status, { error: message, name: outcome.error.name });
}

function argsFromQuery(fn: FunctionManifest, query: URLSearchParams): unknown[] {
  checkKnown(fn, [...new Set(query.keys())]);
  return collect(fn, (param) => {
    const values = query.getAll(param.name).concat(param.name === kebabCase(param.name) ? [] : query.getAll(kebabCase(param.name)));
    if (values.length === 0) return undefined;
    if (values.length > 1) throw new UsageError(`query parameter "${param.name}" was given ${values.length} times; give it once`);
    return parseParamText(param, values[0], `query parameter "${param.name}"`);
  });
}

function argsFromBody(fn: FunctionManifest, body: unknown, maxDepth: number): unknown[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new UsageError(`the body must be a JSON object keyed by parameter name (${fn.params.map((p) => p.name).join(", ") || "none"})`);
  }
  const values = body as Record<string, unknown>;
  const keys = Object.keys(values);
  checkKnown(fn, keys);
  // Before anything walks a value recursively (an error message, the encoder).
  for (const key of keys) checkDepth(key, values[key], maxDepth);
  return collect(fn, (param) => {
    // Own keys only: "constructor" or "toString" must not find Object.prototype's.
    const value = ownValue(values, param.name) ?? ownValue(values, kebabCase(param.name));
    return value === undefined ? undefined : bodyValue(param, value);
  });
}

function ownValue(values: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(values, key) ? values[key] : undefined;
}

/** A JSON value is used as is when it has the parameter's type; a string is parsed like a CLI value. */
function bodyValue(param: ParamManifest, value: unknown): unknown {
  const label = `parameter "${param.name}"`;
  if (param.type === "json") return value;
  if (typeof value === "string") return parseParamText(param, value, label);
  if ((param.type === "number" && typeof value === "number") || (param.type === "boolean" && typeof value === "boolean")) return value;
  throw new UsageError(`${label} expects ${describeParamType(param)}, got ${preview(value)}`);
}

/** A value as JSON, cut short: error messages stay small whatever was sent. */
function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function collect(fn: FunctionManifest, read: (param: ParamManifest) => unknown): unknown[] {
  const args = fn.params.map((param) => {
    const value = read(param);
    if (value === undefined && param.required) throw new UsageError(`missing parameter "${param.name}": expected ${describeParamType(param)}`);
    return value;
  });
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
  return args;
}

function checkKnown(fn: FunctionManifest, keys: string[]): void {
  const known = new Set(fn.params.flatMap((p) => [p.name, kebabCase(p.name)]));
  const unknown = keys.filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new UsageError(`unknown parameter "${unknown[0]}" for ${fn.name}; its parameters are: ${fn.params.map((p) => p.name).join(", ") || "none"}`);
  }
}

function checkDepth(name: string, value: unknown, maxDepth: number): void {
  if (!isWithinDepth(value, maxDepth)) throw tooDeep(`parameter "${name}"`, maxDepth);
}

function tooDeep(what: string, maxDepth: number): UsageError {
  return new UsageError(`${what} nests arrays and objects more than ${maxDepth} deep; flatten it, or raise limits.maxValueDepth in $STUBRUN_HOME/config.json`);
}

/** A value fit to pass: not too deep, and no number JSON cannot hold (`1e999` parses as Infinity). */
function checkValue(name: string, value: unknown, maxDepth: number): void {
  checkDepth(name, value, maxDepth);
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === "number" && !Number.isFinite(item)) {
      throw new UsageError(`parameter "${name}" holds a number out of range (${item}); give a finite number`);
    }
    if (typeof item === "object" && item !== null) for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push(child);
  }
}

/** A POST whose declared length is over the limit is refused before a byte of it is read. */
function refuseDeclaredBody(req: IncomingMessage, maxBytes: number): void {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw bodyTooLarge(req, maxBytes);
}

function bodyTooLarge(req: IncomingMessage, maxBytes: number): HttpError {
  // Discard whatever of the body still arrives: it is never held.
  req.resume();
  return new HttpError(
    413,
    `the request body is over the limit of ${maxBytes} bytes (limits.maxBodyBytes); send less, or raise it in $STUBRUN_HOME/config.json: { "limits": { "maxBodyBytes": ${maxBytes * 2} } }`,
    {},
    { limit: "maxBodyBytes", maxBytes },
  );
}

/** How long a refused body may go on arriving (discarded) after its 413 is out. */
const REFUSED_BODY_GRACE_MS = 2_000;

/**
 * The 413, written whole (its length is known) before the connection closes; the close waits
 * until the rest of the body has arrived (discarded) or a short grace has passed, because
 * closing a socket with unread data resets it, and the client could lose the answer.
 */
function answerTooLarge(req: IncomingMessage, res: ServerResponse, error: HttpError): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error: error.message, ...error.extra });
  res.writeHead(413, { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(body)), connection: "close" });
  res.write(body);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(grace);
    res.end();
  };
  const grace = setTimeout(close, REFUSED_BODY_GRACE_MS);
  if (req.complete) return close();
  req.once("end", close);
  req.once("close", close);
}

/** The body as JSON (`{}` when empty), read up to `maxBytes`; its values may nest `maxDepth` deep. */
async function readJson(req: IncomingMessage, maxBytes: number, maxDepth: number): Promise<unknown> {
  const text = (await readBytes(req, maxBytes)).toString("utf8");
  if (text.trim() === "") return {};
  // Measured on the text: parsing megabytes of "[[[[" would hold the event loop for seconds.
  const deep = findTooDeepJson(text, maxDepth + 1);
  if (deep) throw tooDeep(deep.key === undefined ? "the body" : `parameter "${deep.key}"`, maxDepth);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError("the body is not valid JSON");
  }
}

/** The body's bytes, read up to `maxBytes` (413 past them). */
function readBytes(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      fn();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) settle(() => reject(bodyTooLarge(req, maxBytes)));
      else chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => settle(() => resolve(Buffer.concat(chunks))));
    req.on("error", () => settle(() => reject(new HttpError(400, "the request body was cut off"))));
    req.on("close", () => settle(() => reject(new HttpError(400, "the request body was cut off"))));
  });
}

/** The return value as JSON: BigInt as a string, Map as an object, Set as an array, bytes as base64. */
function toJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value === undefined ? null : value, (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
      if (v instanceof Error) return { name: v.name, message: v.message };
      return v;
    }) ?? "null",
  );
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

/** A web endpoint whose first parameter is the Web's Request: it reads the HTTP request itself, and may answer with a Response. */
function ownsHttp(fn: FunctionManifest): boolean {
  return fn.params[0]?.type === "request";
}

/** The request's headers as name/value pairs, repeated ones each on its own. */
function headerPairs(req: IncomingMessage): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  return pairs;
}

/** Headers the server sets itself from the body it writes. */
const FRAMING_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

/**
 * Answers with a Response the function returned (its status, headers and body) or with the bytes
 * of a Uint8Array it returned (as a file: `application/octet-stream` unless it says otherwise).
 * False for any other value (answered as JSON).
 */
function answerRaw(res: ServerResponse, value: Encoded): boolean {
  if (res.headersSent || res.destroyed) return true;
  const response = wireResponseOf(value);
  if (response) {
    const headers: Record<string, string | string[]> = {};
    for (const [name, text] of response.headers) {
      const key = name.toLowerCase();
      if (FRAMING_HEADERS.has(key)) continue;
      const before = headers[key];
      headers[key] = before === undefined ? text : [...(Array.isArray(before) ? before : [before]), text];
    }
    const body = Buffer.from(response.body, "base64");
    const status = response.status >= 200 && response.status <= 599 ? response.status : 500;
    res.writeHead(status, { ...headers, "content-length": String(body.length) });
    res.end(body);
    return true;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value) && value.$ === "bytes" && typeof value.v === "string") {
    const body = Buffer.from(value.v, "base64");
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(body.length) });
    res.end(body);
    return true;
  }
  return false;
}
