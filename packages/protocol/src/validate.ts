import type { ClientMessage } from "./client-messages";
import type { Encoded } from "./codec";
import { checkTimezone, parseCron, whyCronNeverFires } from "./cron";
import { ProtocolError, type WireError } from "./errors";
import { int, isObject, need, str, type Obj } from "./field-checks";
import { tooDeepMessage } from "./frames";
import { commandProblem, envValueProblem, packageSpecProblem } from "./image-rules";
import {
  APP_NAME_PATTERN,
  BLOB_HASH_PATTERN,
  MAX_CONCURRENT_INPUTS,
  MAX_FUNCTION_CPU,
  MIN_FUNCTION_MEMORY_MB,
  SECRET_KEY_PATTERN,
  SECRET_NAME_PATTERN,
  type AppManifest,
  type CodeFile,
  type FunctionManifest,
  type ImageManifest,
  type ImageStep,
  type PackageRef,
  type ParamManifest,
} from "./manifest";
import { validateClassParamValues } from "./class-params";
import { isWithinDepth } from "./value-depth";
import { validateDictRequest, validateQueueRequest, validateVolumeMounts, validateVolumeRequest } from "./object-validate";
import { envField } from "./env-field";
import type { FromWorkerMessage } from "./worker-messages";

/**
 * Validation of every message that arrives from another process. Each parser either returns a
 * well-typed message or throws a ProtocolError saying what was wrong; nothing is trusted as-is.
 */

/** Returns the request id of a message if it has a usable one, so errors can be replied to. */
export function requestIdOf(message: unknown): number | null {
  return isObject(message) && Number.isSafeInteger(message.id) ? (message.id as number) : null;
}

/** Parses a JSON text frame holding one client message. */
export function parseClientMessage(text: string): ClientMessage {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw new ProtocolError("message is not valid JSON");
  }
  return validateClientMessage(message);
}

/** Limits a server puts on client messages as it validates them. */
export interface ClientMessageLimits {
  /** Deepest nesting of arrays and objects in a call's arguments. @default no limit */
  maxValueDepth?: number;
}

export function validateClientMessage(m: unknown, limits: ClientMessageLimits = {}): ClientMessage {
  need(isObject(m), "message must be a JSON object");
  const type = str(m, "type", "message");
  switch (type) {
    case "heartbeat":
      return { type };
    case "app.create": {
      const id = int(m, "id", type);
      need(isObject(m.manifest), `${type}: "manifest" must be an object`);
      need(Array.isArray(m.files), `${type}: "files" must be an array`);
      need(m.detach === undefined || typeof m.detach === "boolean", `${type}: "detach" must be a boolean`);
      return { type, id, manifest: validateManifest(m.manifest), files: (m.files as unknown[]).map(validateFile), detach: m.detach === true, ...envField(m, type) };
    }
    case "app.deploy":
    case "app.update": {
      const id = int(m, "id", type);
      need(isObject(m.manifest), `${type}: "manifest" must be an object`);
      need(Array.isArray(m.files), `${type}: "files" must be an array`);
      const manifest = validateManifest(m.manifest);
      const files = (m.files as unknown[]).map(validateFile);
      if (type === "app.update") return { type, id, appId: str(m, "appId", type), manifest, files };
      need(manifest.name !== undefined, `${type}: a deployed app needs a name ("manifest.name")`);
      return { type, id, manifest, files, ...envField(m, type) };
    }
    case "app.lookup": {
      const id = int(m, "id", type);
      need(m.version === undefined || (Number.isSafeInteger(m.version) && (m.version as number) >= 1), `${type}: "version" must be a whole number >= 1`);
      return { type, id, name: str(m, "name", type), function: str(m, "function", type), version: m.version as number | undefined, ...envField(m, type) };
    }
    case "call.start": {
      const id = int(m, "id", type);
      need(Array.isArray(m.args), `${type}: "args" must be an array`);
      need(m.version === undefined || (Number.isSafeInteger(m.version) && (m.version as number) >= 1), `${type}: "version" must be a whole number >= 1`);
      const fn = str(m, "function", type);
      // Checked here, since the call's arguments are later encoded again (to its worker) by recursive code.
      const max = limits.maxValueDepth;
      if (max !== undefined) (m.args as unknown[]).forEach((arg, i) => isWithinDepth(arg, max) || need(false, tooDeepMessage(`${type}: argument ${i + 1} of ${fn}`, max)));
      need(m.stream === undefined || typeof m.stream === "boolean", `${type}: "stream" must be a boolean`);
      const params = m.params === undefined ? undefined : validateClassParamValues(m.params, `${type}: "params" of ${fn}`);
      return {
        type,
        id,
        appId: str(m, "appId", type),
        function: fn,
        args: m.args as Encoded[],
        version: m.version as number | undefined,
        ...(m.stream === true ? { stream: true } : {}),
        ...(params ? { params } : {}),
      };
    }
    case "call.cancel":
      return { type, id: int(m, "id", type), callId: str(m, "callId", type) };
    case "app.stop":
      return { type, id: int(m, "id", type), appId: str(m, "appId", type) };
    case "image.build": {
      const id = int(m, "id", type);
      need(isObject(m.image), `${type}: "image" must be an object`);
      return { type, id, image: validateImage(m.image, `${type}: image`) };
    }
    case "dict":
      return validateDictRequest(m, limits.maxValueDepth);
    case "queue":
      return validateQueueRequest(m, limits.maxValueDepth);
    case "volume":
      return validateVolumeRequest(m);
    default:
      throw new ProtocolError(`unknown message type "${type}"`);
  }
}

function validateFile(f: unknown, i: number): CodeFile {
  const where = `files[${i}]`;
  need(isObject(f), `${where} must be an object`);
  const path = str(f, "path", where);
  need(isSafeRelativePath(path), `${where}: path "${path}" must be relative and stay inside the upload`);
  return { path, code: str(f, "code", where) };
}

/** A relative path with no `..` segment, so an upload can never write outside its directory. */
export function isSafeRelativePath(path: string): boolean {
  if (path === "" || path.startsWith("/") || path.includes("\\") || path.includes("\0")) return false;
  return path.split("/").every((part) => part !== ".." && part !== "");
}

export function validateManifest(m: Obj): AppManifest {
  const where = "manifest";
  if (m.name !== undefined) {
    const name = str(m, "name", where);
    need(APP_NAME_PATTERN.test(name), `${where}: app name "${name}" may only hold letters, digits, "-", "_" and ".", at most 64 characters`);
  }
  const entry = str(m, "entry", where);
  need(isSafeRelativePath(entry), `${where}: entry "${entry}" must be a relative path inside the upload`);
  need(Array.isArray(m.functions), `${where}: "functions" must be an array`);
  const functions = (m.functions as unknown[]).map(validateFunction);
  const manifest: AppManifest = { name: m.name as string | undefined, entry, projectRoot: str(m, "projectRoot", where), functions };
  if (m.packages !== undefined) manifest.packages = validatePackages(m.packages);
  return manifest;
}

/** The packages an upload carries: each a blob placed at a path inside the upload. */
function validatePackages(packages: unknown): PackageRef[] {
  need(Array.isArray(packages), `manifest: "packages" must be an array`);
  return (packages as unknown[]).map((p, i) => {
    const where = `manifest.packages[${i}]`;
    need(isObject(p), `${where} must be an object`);
    const ref = { name: str(p, "name", where), version: str(p, "version", where), path: str(p, "path", where), blob: str(p, "blob", where) };
    need(isSafeRelativePath(ref.path), `${where}: path "${ref.path}" must be relative and stay inside the upload`);
    need(BLOB_HASH_PATTERN.test(ref.blob), `${where}: "blob" must be a blob hash (64 lowercase hex digits)`);
    return ref;
  });
}

/** Parses one function of a manifest (`i`: its index, for the messages). */
export function validateFunction(f: unknown, i: number): FunctionManifest {
  let where = `manifest.functions[${i}]`;
  need(isObject(f), `${where} must be an object`);
  const name = str(f, "name", where);
  where = `function ${name}`;
  need(isObject(f.options), `${where}: "options" must be an object`);
  need(Array.isArray(f.params), `${where}: "params" must be an array`);
  const o = f.options as Obj;
  // Finite numbers only: JSON's 1e999 parses to Infinity. Upper bounds are the server's limits.
  const number = (value: unknown, key: string, min: number, whole = false) =>
    need(
      typeof value === "number" && Number.isFinite(value) && value >= min && (!whole || Number.isSafeInteger(value)),
      `${where}: option "${key}" must be a ${whole ? "whole number" : "number"} >= ${min}, got ${typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value))}`,
    );
  number(o.timeout, "timeout", 0);
  need((o.timeout as number) > 0, `${where}: option "timeout" must be above 0 seconds`);
  // A limit of 0 would queue every call of the function forever.
  number(o.concurrencyLimit, "concurrencyLimit", 1, true);
  number(o.keepWarm, "keepWarm", 0, true);
  number(o.containerIdleTimeout, "containerIdleTimeout", 0);
  if (o.concurrentInputs !== undefined) {
    number(o.concurrentInputs, "concurrentInputs", 1, true);
    need((o.concurrentInputs as number) <= MAX_CONCURRENT_INPUTS, `${where}: option "concurrentInputs" must be at most ${MAX_CONCURRENT_INPUTS}, got ${String(o.concurrentInputs)}`);
  }
  need(isObject(o.retries), `${where}: option "retries" must be an object`);
  const r = o.retries as Obj;
  number(r.maxRetries, "retries.maxRetries", 0, true);
  number(r.initialDelayMs, "retries.initialDelayMs", 0);
  number(r.backoffCoefficient, "retries.backoffCoefficient", 0);
  number(r.maxDelayMs, "retries.maxDelayMs", 0);
  need(f.kind === "function" || f.kind === "webEndpoint", `${where}: "kind" must be "function" or "webEndpoint"`);
  if (o.schedule !== undefined) validateSchedule(o.schedule, `${where}: schedule`);
  if (o.secrets !== undefined) validateSecretRefs(o.secrets, `${where}: option "secrets"`);
  need(o.network === undefined || typeof o.network === "boolean", `${where}: option "network" must be true or false`);
  if (o.memory !== undefined) number(o.memory, "memory", MIN_FUNCTION_MEMORY_MB, true); // its upper bound is the server's limits.maxFunctionMemoryMb
  if (o.cpu !== undefined) {
    number(o.cpu, "cpu", 0);
    need((o.cpu as number) > 0 && (o.cpu as number) <= MAX_FUNCTION_CPU, `${where}: option "cpu" must be above 0 and at most ${MAX_FUNCTION_CPU}, got ${String(o.cpu)}`);
  }
  if (o.volumes !== undefined) validateVolumeMounts(o.volumes, `${where}: option "volumes"`);
  (f.params as unknown[]).forEach((p, j) => validateParam(p, `${where}: params[${j}]`));
  need(f.classParams === undefined || Array.isArray(f.classParams), `${where}: "classParams" must be an array`);
  ((f.classParams ?? []) as unknown[]).forEach((p, j) => validateParam(p, `${where}: classParams[${j}]`));
  // Passed on as sent (the server reads only what it knows); the fields above are checked.
  const options = o as unknown as FunctionManifest["options"];
  if (o.image !== undefined) options.image = validateImage(o.image, `${where}: option "image"`);
  return {
    name,
    className: str(f, "className", where),
    methodName: str(f, "methodName", where),
    kind: f.kind,
    webMethod: f.webMethod === "POST" ? "POST" : f.kind === "webEndpoint" ? "GET" : undefined,
    ...(f.generator === true ? { generator: true } : {}),
    options,
    params: f.params as FunctionManifest["params"],
    ...(Array.isArray(f.classParams) && f.classParams.length > 0 ? { classParams: f.classParams as ParamManifest[] } : {}),
  };
}

/** Secret references; messages name keys and secret names, never a value. */
function validateSecretRefs(refs: unknown, where: string): void {
  need(Array.isArray(refs), `${where} must be an array`);
  (refs as unknown[]).forEach((ref, i) => {
    const at = `${where}[${i}]`;
    need(isObject(ref), `${at} must be an object`);
    if (ref.kind === "name") {
      need(typeof ref.name === "string" && SECRET_NAME_PATTERN.test(ref.name), `${at}: "name" must be a secret name (letters, digits, "-", "_" and ".", at most 64 characters)`);
      return;
    }
    need(ref.kind === "object", `${at}: "kind" must be "name" or "object"`);
    need(isObject(ref.values), `${at}: "values" must be an object`);
    for (const [key, value] of Object.entries(ref.values as Obj)) {
      need(SECRET_KEY_PATTERN.test(key), `${at}: key ${JSON.stringify(key)} is not an environment variable name (letters, digits and "_", not starting with a digit)`);
      need(typeof value === "string", `${at}: the value of ${key} must be a string`);
    }
  });
}

/** Most steps an image may have (a typo guard: a real image has a handful). */
const MAX_IMAGE_STEPS = 256;

/**
 * An image manifest (SPEC §2 Images): steps in order, each of a known kind with checked content;
 * returned as a fresh copy holding only the fields that are read, so nothing unchecked is stored.
 */
export function validateImage(image: unknown, where: string): ImageManifest {
  need(isObject(image), `${where} must be an object`);
  need(Array.isArray(image.steps), `${where}: "steps" must be an array`);
  const steps = image.steps as unknown[];
  need(steps.length <= MAX_IMAGE_STEPS, `${where}: ${steps.length} steps, over the most of ${MAX_IMAGE_STEPS}`);
  return { steps: steps.map((step, i) => validateImageStep(step, `${where}: steps[${i}]`)) };
}

function validateImageStep(step: unknown, where: string): ImageStep {
  need(isObject(step), `${where} must be an object`);
  const list = (key: string, problem: (value: unknown) => string | undefined): string[] => {
    const values = step[key];
    need(Array.isArray(values) && values.length > 0, `${where}: "${key}" must be a non-empty array of strings`);
    for (const value of values as unknown[]) {
      const why = problem(value);
      need(why === undefined, `${where}: ${why}`);
    }
    return [...(values as string[])];
  };
  switch (step.kind) {
    case "npmInstall":
      return { kind: "npmInstall", packages: list("packages", packageSpecProblem) };
    case "runCommands":
      return { kind: "runCommands", commands: list("commands", commandProblem) };
    case "env": {
      need(isObject(step.values), `${where}: "values" must be an object of strings`);
      const values: Record<string, string> = {};
      for (const [key, value] of Object.entries(step.values as Obj)) {
        need(SECRET_KEY_PATTERN.test(key), `${where}: key ${JSON.stringify(key)} is not an environment variable name (letters, digits and "_", not starting with a digit)`);
        const why = envValueProblem(key, value);
        need(why === undefined, `${where}: ${why}`);
        values[key] = value as string;
      }
      return { kind: "env", values };
    }
    case "files": {
      const path = str(step, "path", where);
      need(path === "" || isSafeRelativePath(path), `${where}: path "${path}" must be relative and stay inside the upload ("" for its root)`);
      const blob = str(step, "blob", where);
      need(BLOB_HASH_PATTERN.test(blob), `${where}: "blob" must be a sha256 in hex (64 characters 0-9a-f)`);
      return { kind: "files", path, blob };
    }
    default:
      throw new ProtocolError(`${where}: "kind" must be npmInstall, env, runCommands or files`);
  }
}

const PARAM_TYPES = new Set(["number", "string", "boolean", "date", "choice", "json", "request"]);

function validateParam(p: unknown, where: string): void {
  need(isObject(p), `${where} must be an object`);
  str(p, "name", where);
  need(PARAM_TYPES.has(p.type as string), `${where}: "type" must be one of ${[...PARAM_TYPES].join(", ")}`);
  need(typeof p.required === "boolean", `${where}: "required" must be a boolean`);
  need(p.choices === undefined || (Array.isArray(p.choices) && p.choices.every((c) => typeof c === "string")), `${where}: "choices" must be strings`);
  need(p.numeric === undefined || typeof p.numeric === "boolean", `${where}: "numeric" must be a boolean`);
}

function validateSchedule(s: unknown, where: string): void {
  need(isObject(s), `${where} must be an object`);
  if (s.kind === "period") {
    need(typeof s.seconds === "number" && s.seconds >= 1 && Number.isFinite(s.seconds), `${where}: "seconds" must be a number >= 1`);
    return;
  }
  need(s.kind === "cron", `${where}: "kind" must be "cron" or "period"`);
  const expression = str(s, "expression", where);
  let never: string | undefined;
  try {
    never = whyCronNeverFires(parseCron(expression));
    checkTimezone(str(s, "timezone", where));
  } catch (error) {
    throw new ProtocolError(`${where}: ${(error as Error).message}`);
  }
  // Refused here, since a schedule that never fires cannot be armed (and once stored it would be served at every start).
  if (never !== undefined) throw new ProtocolError(`${where}: cron "${expression}" never fires: ${never}; fix the expression`);
}

/** Parses a message a worker sent over its IPC channel: every field is checked, nested errors too. */
export function validateWorkerMessage(m: unknown): FromWorkerMessage {
  need(isObject(m), "worker message must be an object");
  const type = str(m, "type", "worker message");
  switch (type) {
    case "ready":
      return { type };
    case "start-failed":
      return { type, error: validateWireError(m.error, `${type}: "error"`) };
    case "output":
      need(m.stream === "stdout" || m.stream === "stderr", 'output: "stream" must be stdout or stderr');
      return { type, callId: m.callId === null ? null : str(m, "callId", type), stream: m.stream, data: str(m, "data", type) };
    case "yield":
      // Passed through to the caller, like a return value.
      need(m.value !== undefined, 'yield: "value" is missing');
      return { type, callId: str(m, "callId", type), value: m.value as Encoded };
    case "done": {
      const callId = str(m, "callId", type);
      need(typeof m.ok === "boolean", 'done: "ok" must be a boolean');
      need(m.ms === undefined || (typeof m.ms === "number" && Number.isFinite(m.ms) && m.ms >= 0), 'done: "ms" must be a number >= 0');
      const ms = m.ms === undefined ? {} : { ms: m.ms as number };
      // The value is passed through to the caller, who decodes it: it only has to be there.
      if (m.ok) {
        need(m.value !== undefined, 'done: "value" is missing');
        return { type, callId, ok: true, value: m.value as Encoded, ...ms };
      }
      return { type, callId, ok: false, error: validateWireError(m.error, `${type}: "error"`), ...ms };
    }
    default:
      throw new ProtocolError(`unknown worker message type "${type}"`);
  }
}

/** A WireError as it crossed a process boundary: name and message strings, stack and code optional strings. */
export function validateWireError(e: unknown, where: string): WireError {
  need(isObject(e), `${where} must be an object`);
  const name = str(e, "name", where);
  const message = str(e, "message", where);
  need(e.stack === undefined || typeof e.stack === "string", `${where}: "stack" must be a string`);
  need(e.code === undefined || typeof e.code === "string", `${where}: "code" must be a string`);
  need(e.fields === undefined || (isObject(e.fields) && isWithinDepth(e.fields, 256)), `${where}: "fields" must be an object, nested at most 256 deep`);
  const error: WireError = { name, message };
  if (e.stack !== undefined) error.stack = e.stack as string;
  if (e.code !== undefined) error.code = e.code as string;
  if (e.fields !== undefined) error.fields = e.fields as Record<string, unknown>;
  return error;
}
