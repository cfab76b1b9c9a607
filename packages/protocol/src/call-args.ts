import type { Encoded } from "./codec";
import { UsageError } from "./errors";
import type { FunctionManifest, ParamManifest } from "./manifest";

/**
 * Checks a call's encoded arguments against the parameters in the function's manifest, where the
 * manifest is precise (numbers, strings, flags, dates, choices; `json` takes anything), so that
 * `square("abc")` is refused naming the parameter rather than running with a string. Throws a
 * UsageError: `Hello.square: argument 1 (x) must be a number, got a string "abc"`.
 */
export function checkCallArgs(fn: Pick<FunctionManifest, "name" | "params">, args: Encoded[]): void {
  fn.params.forEach((param, i) => {
    const arg = i < args.length ? args[i] : { $: "undef" };
    const problem = mismatch(param, arg);
    if (problem) throw new UsageError(`${fn.name}: argument ${i + 1} (${param.name}) must be ${expected(param)}, got ${problem}`);
  });
}

function mismatch(param: ParamManifest, arg: Encoded): string | undefined {
  const tag = arg !== null && typeof arg === "object" && !Array.isArray(arg) ? (arg as { $?: unknown }).$ : undefined;
  if (tag === "undef") return param.required ? "undefined" : undefined;
  switch (param.type) {
    case "number":
      return typeof arg === "number" || tag === "num" ? undefined : shown(arg, tag);
    case "string":
      return typeof arg === "string" ? undefined : shown(arg, tag);
    case "boolean":
      return typeof arg === "boolean" ? undefined : shown(arg, tag);
    case "date":
      return tag === "date" ? undefined : shown(arg, tag);
    case "choice": {
      const ok = param.numeric ? typeof arg === "number" && (param.choices ?? []).includes(String(arg)) : typeof arg === "string" && (param.choices ?? []).includes(arg);
      return ok ? undefined : shown(arg, tag);
    }
    case "json":
      return undefined;
    case "request":
      return tag === "request" ? undefined : shown(arg, tag);
  }
}

function expected(param: ParamManifest): string {
  if (param.type === "choice") return `one of ${(param.choices ?? []).map((c) => (param.numeric ? c : JSON.stringify(c))).join(", ")}`;
  return { number: "a number", string: "a string", boolean: "true or false", date: "a Date", json: "a value", request: "a Request" }[param.type];
}

function shown(arg: Encoded, tag: unknown): string {
  if (arg === null) return "null";
  if (typeof arg === "string") return `a string ${JSON.stringify(arg.length > 40 ? `${arg.slice(0, 40)}...` : arg)}`;
  if (typeof arg === "number" || typeof arg === "boolean") return `${typeof arg} ${String(arg)}`;
  if (Array.isArray(arg)) return "an array";
  if (typeof tag === "string") return { num: "a number", bigint: "a bigint", date: "a Date", bytes: "a Uint8Array", map: "a Map", set: "a Set", error: "an Error" }[tag] ?? "an object";
  return "an object";
}

/** What calling a generator function (`*f()`, `async *f()`) returns: iterated, not awaited. */
export function isGeneratorObject(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  const tag = Object.prototype.toString.call(value);
  return tag === "[object AsyncGenerator]" || tag === "[object Generator]";
}
