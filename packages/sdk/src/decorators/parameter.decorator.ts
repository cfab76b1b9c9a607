import { UsageError } from "@stubrun/protocol";
import { addParameter, getParameters } from "../metadata/readers";
import type { AnyClass } from "../registry";

/** Options of `@stub.parameter()`. */
export interface ParameterOptions {
  /** The value when a call gives none; a property initializer (`model = "small"`) does the same. @default none: the parameter is required unless it has an initializer or is marked `?` */
  default?: string | number | boolean;
}

/**
 * Marks a class property as a parameter (Modal's `modal.parameter()`): each instance the workers
 * make gets its value from the call (`fn(this.f).with({ model: "small" })`, or `--model small`
 * from the CLI) before the class's enter hooks run. Checked when applied.
 */
export function parameterDecorator(options: ParameterOptions = {}): PropertyDecorator {
  return (target, key) => {
    const where = `@stub.parameter() on ${typeof target === "function" ? target.name : (target as { constructor?: { name?: string } })?.constructor?.name ?? "?"}.${String(key)}`;
    if (typeof key !== "string") throw new UsageError(`${where}: a parameter needs a plain property name`);
    if (typeof target === "function") throw new UsageError(`${where}: the property is static; parameters are set per instance, so make it an instance property`);
    const cls = (target as { constructor?: AnyClass } | null)?.constructor;
    if (typeof cls !== "function") throw new UsageError(`${where}: put it on a property of a class`);
    const descriptor = Object.getOwnPropertyDescriptor(target, key);
    if (typeof descriptor?.value === "function" || descriptor?.get || descriptor?.set) {
      throw new UsageError(`${where}: ${key} is a method or accessor; @stub.parameter() goes on a plain property, like \`@stub.parameter() model = "small";\``);
    }
    if (typeof options !== "object" || options === null) throw new UsageError(`${where}: options must be an object`);
    for (const k of Object.keys(options)) if (k !== "default") throw new UsageError(`${where}: unknown option "${k}"; the only option is default`);
    const value = options.default;
    if (value !== undefined && typeof value !== "string" && typeof value !== "boolean" && !(typeof value === "number" && Number.isFinite(value))) {
      throw new UsageError(`${where}: "default" must be a string, a finite number or a boolean, got ${typeof value}`);
    }
    if (getParameters(cls).some((p) => p.name === key)) throw new UsageError(`${where}: the property is already a parameter; use one @stub.parameter()`);
    addParameter(cls, { name: key, ...(value !== undefined ? { default: value } : {}) });
  };
}
