import {
  decodeValue,
  describeParamType,
  encodeValue,
  kebabCase,
  MAX_MESSAGE_BYTES,
  parseParamText,
  UsageError,
  type FunctionManifest,
  type ParamManifest,
} from "@stubrun/protocol";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppManager } from "../apps/app-manager";
import type { AppsRepository } from "../state/apps.repository";

/** An HTTP error with its status, answered as `{ error }`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `SERVER_URL/web/APP/Class.method`: a web endpoint of a deployed app (APP its name) or of a
 * running app (APP its id). GET reads the query string with the CLI's rules; POST reads a JSON
 * object keyed by parameter name. The reply is the return value as JSON.
 */
export async function handleWebEndpoint(req: IncomingMessage, res: ServerResponse, apps: AppsRepository, manager: AppManager, appRef: string, functionName: string): Promise<void> {
  try {
    const record = apps.findDeployed(appRef) ?? apps.get(appRef);
    if (!record || !manager.isRunning(record.id)) throw new HttpError(404, `no running app with name or id "${appRef}"`);
    const app = manager.runningApp(record.id);
    let fn: FunctionManifest;
    try {
      fn = manager.functionOf(app, functionName);
    } catch (error) {
      throw new HttpError(404, (error as Error).message);
    }
    if (fn.kind !== "webEndpoint") throw new HttpError(404, `${functionName} of app ${appRef} is not a web endpoint`);
    const method = fn.webMethod ?? "GET";
    if (req.method !== method) {
      res.setHeader("allow", method);
      throw new HttpError(405, `${functionName} answers ${method}, not ${req.method}`);
    }
    const args = method === "GET" ? argsFromQuery(fn, new URL(req.url ?? "/", "http://x").searchParams) : argsFromBody(fn, await readJson(req));
    const encoded = args.map((value, i) => encodeValue(value, `parameter ${fn.params[i]?.name ?? i + 1}`));
    manager.startCall(record.id, functionName, encoded, {
      output: () => {},
      result: (_callId, outcome) => {
        if (outcome.state === "succeeded") return reply(res, 200, toJson(decodeValue(outcome.value)));
        reply(res, outcome.state === "timed_out" ? 504 : 500, { error: outcome.error.message, name: outcome.error.name });
      },
    });
  } catch (error) {
    if (error instanceof HttpError) return reply(res, error.status, { error: error.message });
    if (error instanceof UsageError) return reply(res, 400, { error: error.message });
    reply(res, 500, { error: (error as Error).message });
  }
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

function argsFromBody(fn: FunctionManifest, body: unknown): unknown[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new UsageError(`the body must be a JSON object keyed by parameter name (${fn.params.map((p) => p.name).join(", ") || "none"})`);
  }
  const values = body as Record<string, unknown>;
  checkKnown(fn, Object.keys(values));
  return collect(fn, (param) => {
    const value = values[param.name] ?? values[kebabCase(param.name)];
    return value === undefined ? undefined : bodyValue(param, value);
  });
}

/** A JSON value is used as is when it has the parameter's type; a string is parsed like a CLI value. */
function bodyValue(param: ParamManifest, value: unknown): unknown {
  const label = `parameter "${param.name}"`;
  if (param.type === "json") return value;
  if (typeof value === "string") return parseParamText(param, value, label);
  if ((param.type === "number" && typeof value === "number") || (param.type === "boolean" && typeof value === "boolean")) return value;
  throw new UsageError(`${label} expects ${describeParamType(param)}, got ${JSON.stringify(value)}`);
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

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_MESSAGE_BYTES) {
        reject(new HttpError(413, `the body is over ${MAX_MESSAGE_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new UsageError("the body is not valid JSON"));
      }
    });
    req.on("error", reject);
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

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
