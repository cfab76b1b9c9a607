import { UsageError } from "@stubrun/protocol";
import type { AnyClass } from "../registry";

/** A decorated instance method, after checking the decorator was applied where it can work. */
export interface MethodTarget {
  cls: AnyClass;
  methodName: string;
  method: Function;
}

/**
 * Checks the arguments an experimental method decorator receives. Throws a UsageError that says
 * how to fix the code when the decorator is on a static method, a getter, a field, or when the
 * file was compiled with standard (TC39) decorators instead of experimental ones.
 */
export function methodTarget(decorator: string, target: unknown, key: unknown, descriptor: unknown): MethodTarget {
  if (typeof key === "object" && key !== null && "kind" in key) {
    throw new UsageError(
      `${decorator} needs TypeScript experimental decorators: run the file with "npx stubrun FILE", ` +
        `or set "experimentalDecorators": true and "emitDecoratorMetadata": true in tsconfig.json`,
    );
  }
  if (typeof key !== "string") throw new UsageError(`${decorator} can only decorate a method with a plain name`);
  if (typeof target === "function") {
    throw new UsageError(`${decorator} is on static method ${target.name}.${key}; decorate an instance method instead`);
  }
  const cls = (target as { constructor?: AnyClass } | null)?.constructor;
  const method = (descriptor as PropertyDescriptor | undefined)?.value;
  if (typeof cls !== "function" || typeof method !== "function") {
    throw new UsageError(`${decorator} is on ${cls?.name ?? "?"}.${key}, which is not a method; decorate a method`);
  }
  return { cls, methodName: key, method };
}
