import { UsageError } from "@stubrun/protocol";
import type { AnyClass } from "../registry";

/** Set by the stubrun CLI (`markStubrunCli`) in its own process. */
const CLI_MARK = Symbol.for("stubrun.cli");

/** Says that this process is the stubrun CLI, which compiles .ts files with experimental decorators itself. */
export function markStubrunCli(): void {
  (globalThis as { [CLI_MARK]?: boolean })[CLI_MARK] = true;
}

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
    // Under the stubrun CLI, .ts files get experimental decorators: this code was compiled before
    // (a .js file built with standard decorators), so running it with stubrun again would not help.
    const underCli = (globalThis as { [CLI_MARK]?: boolean })[CLI_MARK] === true;
    throw new UsageError(
      underCli
        ? `${decorator} was compiled with standard (TC39) decorators before stubrun loaded it (a .js file built by tsc or another tool): ` +
            `import its TypeScript source instead, or build it with "experimentalDecorators": true and "emitDecoratorMetadata": true`
        : `${decorator} needs TypeScript experimental decorators: run the file with "npx stubrun FILE", ` +
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
