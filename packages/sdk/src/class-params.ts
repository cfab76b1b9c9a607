import { UsageError, type ClassParamValues } from "@stubrun/protocol";
import { getParameters, getPropertyType } from "./metadata/readers";
import type { AnyClass } from "./registry";

/**
 * Checks `.with({...})` values against a class's `@stub.parameter()` properties, as far as this
 * process knows them (names, and types the compiler emitted); the server checks again against the
 * manifest (choices, required ones). Returns a copy; throws a UsageError naming the property.
 */
export function checkParamsLocally(cls: AnyClass, functionName: string, values: unknown): ClassParamValues {
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new UsageError(`${functionName}.with(values): values must be an object of parameter values, like .with({ model: "small" })`);
  }
  const params = getParameters(cls);
  const checked: ClassParamValues = {};
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    if (value === undefined) continue; // { model: undefined } means its default, as an absent key does
    if (!params.some((p) => p.name === name)) {
      throw new UsageError(
        params.length === 0
          ? `${functionName}.with(): class ${cls.name} has no @stub.parameter() properties (got ${name}); mark one with @stub.parameter()`
          : `${functionName}.with(): class ${cls.name} has no parameter ${JSON.stringify(name)}; its parameters are: ${params.map((p) => p.name).join(", ")}`,
      );
    }
    const expected = expectedType(getPropertyType(cls, name));
    const ok = typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
    if (!ok || (expected !== undefined && typeof value !== expected)) {
      const shown = typeof value === "string" ? JSON.stringify(value) : typeof value === "object" ? "an object" : String(value);
      throw new UsageError(`${functionName}.with(): parameter ${name} of class ${cls.name} must be ${expected ? `a ${expected}` : "a string, a finite number or a boolean"}, got ${typeof value} ${shown}`);
    }
    checked[name] = value as string | number | boolean;
  }
  return checked;
}

function expectedType(type: unknown): "string" | "number" | "boolean" | undefined {
  if (type === String) return "string";
  if (type === Number) return "number";
  if (type === Boolean) return "boolean";
  return undefined;
}

/**
 * Sets a new instance's parameters: the given values, then `@stub.parameter({ default })` for those
 * not given whose property is still undefined (an initializer's value stays). Workers, `.local()`
 * and local entrypoints all make instances this way, before the enter hooks run.
 */
export function applyClassParams(cls: AnyClass, instance: Record<string, unknown>, values: ClassParamValues | undefined): void {
  for (const param of getParameters(cls)) {
    if (values && Object.prototype.hasOwnProperty.call(values, param.name)) instance[param.name] = values[param.name];
    else if (param.default !== undefined && instance[param.name] === undefined) instance[param.name] = param.default;
  }
}
