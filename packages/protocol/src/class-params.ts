import { UsageError } from "./errors";
import { isObject, need } from "./field-checks";
import type { ClassParamValues, FunctionManifest, ParamManifest } from "./manifest";

/**
 * Values of a class's `@stub.parameter()` properties: checked in shape where they arrive (a
 * message), against the manifest before a call is accepted, and put in one canonical form that
 * names the workers that serve them.
 */

/** Most parameter values one call may carry (a guard: a class has a handful). */
const MAX_CLASS_PARAMS = 64;
/** Longest string value of a parameter. */
const MAX_PARAM_STRING = 4096;
/** A property name: what `this.name` can reach. */
const PROPERTY_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The shape of `params` on the wire: an object of at most 64 strings, finite numbers and booleans. Throws a ProtocolError. */
export function validateClassParamValues(value: unknown, where: string): ClassParamValues {
  need(isObject(value), `${where} must be an object`);
  const entries = Object.entries(value);
  need(entries.length <= MAX_CLASS_PARAMS, `${where}: ${entries.length} values, over the most of ${MAX_CLASS_PARAMS}`);
  const values: ClassParamValues = {};
  for (const [name, v] of entries) {
    need(PROPERTY_NAME.test(name), `${where}: ${JSON.stringify(name)} is not a property name`);
    need(
      (typeof v === "string" && v.length <= MAX_PARAM_STRING) || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)),
      `${where}: the value of ${name} must be a string (at most ${MAX_PARAM_STRING} characters), a finite number or a boolean`,
    );
    values[name] = v as string | number | boolean;
  }
  return values;
}

/**
 * Checks parameter values against the manifest's `classParams`: every name is a parameter, every
 * value has its type, every required parameter has a value. Throws a UsageError that says which.
 */
export function checkClassParams(fn: Pick<FunctionManifest, "name" | "className" | "classParams">, values: ClassParamValues | undefined): void {
  const params = fn.classParams ?? [];
  const given = values ?? {};
  if (params.length === 0 && values === undefined) return; // most calls: no parameters, none given
  for (const [name, value] of Object.entries(given)) {
    const param = params.find((p) => p.name === name);
    if (!param) {
      throw new UsageError(
        params.length === 0
          ? `${fn.name}: class ${fn.className} has no @stub.parameter() properties, so .with() takes nothing (got ${name})`
          : `${fn.name}: class ${fn.className} has no parameter ${JSON.stringify(name)}; its parameters are: ${params.map((p) => p.name).join(", ")}`,
      );
    }
    if (!fitsParam(param, value)) {
      throw new UsageError(`${fn.name}: parameter ${name} of class ${fn.className} must be ${expectedParam(param)}, got ${typeof value} ${JSON.stringify(value)}`);
    }
  }
  const missing = params.filter((p) => p.required && !(p.name in given)).map((p) => p.name);
  if (missing.length > 0) {
    throw new UsageError(
      `${fn.name}: class ${fn.className} needs a value for ${missing.length === 1 ? "parameter" : "parameters"} ${missing.join(", ")} (no default): ` +
        `call fn(this.${fn.name.slice(fn.className.length + 1)}).with({ ${missing.map((m) => `${m}: ...`).join(", ")} })`,
    );
  }
}

function fitsParam(param: ParamManifest, value: string | number | boolean): boolean {
  switch (param.type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "choice":
      return param.numeric ? typeof value === "number" && (param.choices ?? []).includes(String(value)) : typeof value === "string" && (param.choices ?? []).includes(value);
    default:
      return typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
  }
}

function expectedParam(param: ParamManifest): string {
  if (param.type === "choice") return `one of ${(param.choices ?? []).map((c) => (param.numeric ? c : JSON.stringify(c))).join(", ")}`;
  return { number: "a number", string: "a string", boolean: "true or false" }[param.type as string] ?? "a string, number or boolean";
}

/** The values in one canonical form (names sorted): equal sets of values give equal text. "" for none. */
export function canonicalClassParams(values: ClassParamValues | undefined): string {
  if (!values) return "";
  const names = Object.keys(values).sort();
  return names.length === 0 ? "" : JSON.stringify(names.map((n) => [n, values[n]]));
}
