import type { Encoded } from "./codec";
import { ProtocolError } from "./errors";
import { int, need, str, type Obj } from "./field-checks";
import { tooDeepMessage } from "./frames";
import { APP_NAME_PATTERN, BLOB_HASH_PATTERN } from "./manifest";
import { PARTITION_PATTERN, type DictRequest, type ObjectRef, type QueueRequest, type VolumeMount, type VolumeRequest } from "./object-messages";

import { volumeMountProblem } from "./volume-paths";
import { isWithinDepth } from "./value-depth";
import { envField } from "./env-field";

/** Validates a `dict` request (see object-messages.ts). */
export function validateDictRequest(m: Obj, maxValueDepth: number | undefined): DictRequest {
  const type = "dict";
  const base = { type, id: int(m, "id", type), ...objectRef(m, type) } as const;
  const op = str(m, "op", type);
  const value = (key: "key" | "value") => encodedField(m, key, `${type} ${op}`, maxValueDepth);
  switch (op) {
    case "get":
    case "contains":
    case "delete":
      return { ...base, op, key: value("key") };
    case "put": {
      need(m.ifVersion === undefined || (Number.isSafeInteger(m.ifVersion) && (m.ifVersion as number) >= 0), `${type} put: "ifVersion" must be a whole number >= 0`);
      return { ...base, op, key: value("key"), value: value("value"), ...(m.ifVersion === undefined ? {} : { ifVersion: m.ifVersion as number }) };
    }
    case "len":
    case "keys":
    case "items":
    case "clear":
      return { ...base, op };
    default:
      throw protocolOp(type, op, "get, contains, put, delete, len, keys, items, clear");
  }
}

/** Validates a `queue` request (see object-messages.ts). */
export function validateQueueRequest(m: Obj, maxValueDepth: number | undefined): QueueRequest {
  const type = "queue";
  const base = { type, id: int(m, "id", type), ...objectRef(m, type) } as const;
  const op = str(m, "op", type);
  const partition = partitionOf(m, `${type} ${op}`);
  switch (op) {
    case "put": {
      need(Array.isArray(m.values) && m.values.length > 0, `${type} put: "values" must be a non-empty array`);
      if (maxValueDepth !== undefined) (m.values as unknown[]).forEach((v, i) => need(isWithinDepth(v, maxValueDepth), tooDeepMessage(`${type} put: value ${i + 1}`, maxValueDepth)));
      return { ...base, op, values: m.values as Encoded[], ...partition };
    }
    case "get": {
      const max = int(m, "max", `${type} get`);
      need(max >= 1 && max <= 10_000, `${type} get: "max" must be 1 to 10000`);
      need(m.timeoutMs === undefined || (Number.isSafeInteger(m.timeoutMs) && (m.timeoutMs as number) >= 0), `${type} get: "timeoutMs" must be a whole number of ms >= 0`);
      return { ...base, op, max, ...(m.timeoutMs === undefined ? {} : { timeoutMs: m.timeoutMs as number }), ...partition };
    }
    case "len":
      need(m.total === undefined || typeof m.total === "boolean", `${type} len: "total" must be a boolean`);
      return { ...base, op, ...partition, ...(m.total === true ? { total: true } : {}) };
    case "clear":
      need(m.all === undefined || typeof m.all === "boolean", `${type} clear: "all" must be a boolean`);
      return { ...base, op, ...partition, ...(m.all === true ? { all: true } : {}) };
    default:
      throw protocolOp(type, op, "put, get, len, clear");
  }
}

/** Validates a `volume` request (see object-messages.ts). */
export function validateVolumeRequest(m: Obj): VolumeRequest {
  const type = "volume";
  const base = { type, id: int(m, "id", type), ...objectRef(m, type) } as const;
  need(base.app === undefined, `${type}: Volumes are named ones only (no "app")`);
  const op = str(m, "op", type);
  switch (op) {
    case "head":
      return { ...base, op };
    case "commit": {
      const hash = str(m, "hash", `${type} commit`);
      need(BLOB_HASH_PATTERN.test(hash), `${type} commit: "hash" must be a blob hash (64 lowercase hex digits)`);
      need(m.ifVersion === undefined || (Number.isSafeInteger(m.ifVersion) && (m.ifVersion as number) >= 0), `${type} commit: "ifVersion" must be a whole number >= 0`);
      return { ...base, op, hash, ...(m.ifVersion === undefined ? {} : { ifVersion: m.ifVersion as number }) };
    }
    default:
      throw protocolOp(type, op, "head, commit");
  }
}

/** Validates a function's `volumes` option: mounts with good paths and names, each path and name once. */
export function validateVolumeMounts(value: unknown, where: string): VolumeMount[] {
  need(Array.isArray(value), `${where} must be an array of { path, name }`);
  const mounts = value as Obj[];
  mounts.forEach((v, i) => {
    need(typeof v === "object" && v !== null, `${where}[${i}] must be { path, name }`);
    need(typeof v.path === "string", `${where}[${i}]: "path" must be a string`);
    const problem = volumeMountProblem(v.path as string);
    need(problem === undefined, `${where}[${i}]: ${problem}`);
    need(typeof v.name === "string" && APP_NAME_PATTERN.test(v.name), `${where}[${i}]: "name" may only hold letters, digits, "-", "_" and ".", at most 64 characters`);
    need(v.create === undefined || typeof v.create === "boolean", `${where}[${i}]: "create" must be a boolean`);
  });
  need(new Set(mounts.map((v) => v.name)).size === mounts.length, `${where}: a Volume may be mounted once per function`);
  return mounts as unknown as VolumeMount[];
}

function objectRef(m: Obj, type: string): ObjectRef {
  const name = str(m, "name", type);
  need(APP_NAME_PATTERN.test(name), `${type}: name ${JSON.stringify(name)} may only hold letters, digits, "-", "_" and ".", at most 64 characters`);
  need(m.app === undefined || typeof m.app === "string", `${type}: "app" must be a string`);
  need(m.create === undefined || typeof m.create === "boolean", `${type}: "create" must be a boolean`);
  return { name, ...(m.app === undefined ? {} : { app: m.app as string }), ...(m.create === true ? { create: true } : {}), ...envField(m, type) };
}

function encodedField(m: Obj, key: string, where: string, maxValueDepth: number | undefined): Encoded {
  need(key in m, `${where}: "${key}" is missing`);
  if (maxValueDepth !== undefined) need(isWithinDepth(m[key], maxValueDepth), tooDeepMessage(`${where}: ${key}`, maxValueDepth));
  return m[key] as Encoded;
}

function partitionOf(m: Obj, where: string): { partition?: string } {
  if (m.partition === undefined) return {};
  need(typeof m.partition === "string" && PARTITION_PATTERN.test(m.partition), `${where}: "partition" may only hold letters, digits, "-", "_" and ".", at most 64 characters`);
  return m.partition === "" ? {} : { partition: m.partition as string };
}

function protocolOp(type: string, op: string, known: string): ProtocolError {
  return new ProtocolError(`${type}: unknown op ${JSON.stringify(op)}; the ops are ${known}`);
}
