import { fromWireError, toWireError, UncarriableValueError, useFieldCodec, type WireError } from "./errors";
import { requestFromWire, responseFromWire } from "./web-values";

/**
 * The value codec: turns the values SPEC §2 allows (JSON plus undefined, Date, BigInt, Map, Set,
 * Uint8Array and Error) into JSON-safe data and back. Special values become `{ $: tag, ... }`;
 * a plain object that itself has a `$` key is wrapped, so decoding is never ambiguous.
 * Anything else (functions, symbols, class instances, cycles) is refused with its path.
 */
export type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded };

const CARRIABLE =
  "only JSON data, undefined, Date, BigInt, Map, Set, Uint8Array and Error can cross the wire";

/** Encodes one value. `label` names it in errors, e.g. `argument "name"`. */
export function encodeValue(value: unknown, label = "value"): Encoded {
  try {
    return encode(value, "", new Set());
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    // "argument 2 of Carry.echo (at .where[0]) is an instance of Point; ..."
    const at = error.path ? ` (at ${error.path})` : "";
    throw new UncarriableValueError(`${label}${at} ${error.what}: ${CARRIABLE}`);
  }
}

/** Thrown inside the encoder with where the bad value is; encodeValue turns it into the error. */
class Refusal {
  constructor(
    readonly path: string,
    readonly what: string,
  ) {}
}

function encode(value: unknown, path: string, seen: Set<object>): Encoded {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $: "num", v: Object.is(value, -0) ? "-0" : String(value) };
    case "undefined":
      return { $: "undef" };
    case "bigint":
      return { $: "bigint", v: value.toString() };
    case "function":
      return refuse(path, `is a function (${value.name || "anonymous"})`);
    case "symbol":
      return refuse(path, `is a symbol (${value.toString()})`);
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return refuse(path, "refers back to itself (a circular reference)");
  seen.add(object);
  try {
    return encodeObject(object, path, seen);
  } finally {
    seen.delete(object);
  }
}

function encodeObject(object: object, path: string, seen: Set<object>): Encoded {
  if (Array.isArray(object)) {
    const out: Encoded[] = [];
    for (let i = 0; i < object.length; i++) out.push(encode(object[i], `${path}[${i}]`, seen));
    return out;
  }
  if (object instanceof Date) return { $: "date", v: Number.isNaN(object.getTime()) ? null : object.toISOString() };
  if (object instanceof Uint8Array) return { $: "bytes", v: Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString("base64") };
  if (object instanceof Map) {
    let i = 0;
    const entries: Encoded[] = [];
    for (const [k, v] of object) {
      entries.push([encode(k, `${path}<key ${i}>`, seen), encode(v, `${path}.get(${i})`, seen)]);
      i++;
    }
    return { $: "map", v: entries };
  }
  if (object instanceof Set) {
    let i = 0;
    const items: Encoded[] = [];
    for (const item of object) items.push(encode(item, `${path}<item ${i++}>`, seen));
    return { $: "set", v: items };
  }
  if (object instanceof Error) {
    const wire = toWireError(object);
    return { $: "error", ...(wire as unknown as Record<string, Encoded>) };
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const className = proto?.constructor?.name || "an unnamed class";
    return refuse(path, `is an instance of ${className}; send a plain object instead`);
  }
  const out: { [key: string]: Encoded } = {};
  for (const key of Object.keys(object)) {
    setData(out, key, encode((object as Record<string, unknown>)[key], `${path}.${key}`, seen));
  }
  return Object.prototype.hasOwnProperty.call(out, "$") ? { $: "obj", v: out } : out;
}

function refuse(path: string, what: string): never {
  throw new Refusal(path, what);
}

/** Decodes what `encodeValue` made. Input that does not follow the format is decoded as plain data. */
export function decodeValue(data: Encoded): unknown {
  if (data === null || typeof data !== "object") return data;
  if (Array.isArray(data)) return data.map(decodeValue);
  const tag = data.$;
  if (typeof tag !== "string") return decodeObject(data);
  const v = data.v;
  switch (tag) {
    case "undef":
      return undefined;
    case "num":
      return Number(v);
    case "bigint":
      return typeof v === "string" && /^-?\d+$/.test(v) ? BigInt(v) : decodeObject(data);
    case "date":
      return new Date(typeof v === "string" ? v : NaN);
    case "bytes":
      return new Uint8Array(Buffer.from(String(v), "base64"));
    case "map":
      return new Map((Array.isArray(v) ? v : []).map((e) => (Array.isArray(e) ? [decodeValue(e[0]), decodeValue(e[1])] : [undefined, undefined])));
    case "set":
      return new Set((Array.isArray(v) ? v : []).map(decodeValue));
    case "error":
      return fromWireError(data as unknown as WireError);
    case "request":
      return requestFromWire(v);
    case "response":
      return responseFromWire(v);
    case "obj":
      return v !== null && typeof v === "object" && !Array.isArray(v) ? decodeObject(v) : {};
    default:
      return decodeObject(data);
  }
}

function decodeObject(data: { [key: string]: Encoded }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(data)) setData(out, key, decodeValue(data[key]));
  return out;
}

/** defineProperty, not assignment: a "__proto__" key must stay data, never a prototype. */
function setData(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// Errors carry their own fields, encoded as values are.
useFieldCodec({ encode: (value, path) => encodeValue(value, path), decode: (data) => decodeValue(data as Encoded) });
