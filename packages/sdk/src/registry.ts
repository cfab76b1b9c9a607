import { UsageError, type ClassParamValues } from "@stubrun/protocol";
import type { Stub } from "./stub";

/** Any class whose methods stubrun decorates. */
export type AnyClass = abstract new (...args: never[]) => unknown;

/** Where a decorated method lives: its class, its name and the stub that owns it. */
export interface MethodRef {
  cls: AnyClass;
  methodName: string;
  stub: Stub;
  /** For a stand-in of an instance's method: the instance's `@stub.parameter()` values, which `fn()` of it carries. */
  params?: ClassParamValues;
}

/**
 * The registry that decorating fills: every Stub made, every class decorated and which stub owns
 * it, and a lookup from a method's function object back to its class. It is kept on `globalThis`
 * so that two copies of the SDK in one process (a user's project with its own `stubrun`) share it.
 */
export class Registry {
  readonly stubs: Stub[] = [];
  private readonly classes = new Map<AnyClass, Stub>();
  private readonly methods = new WeakMap<Function, MethodRef>();

  addStub(stub: Stub): void {
    this.stubs.push(stub);
  }

  /** Records that `stub` decorated `methodName` of `cls`. */
  addMethod(stub: Stub, cls: AnyClass, methodName: string, method: Function): void {
    const owner = this.classes.get(cls);
    if (owner && owner !== stub) {
      throw new UsageError(
        `class ${cls.name} is decorated by two stubs (${describeStub(owner)} and ${describeStub(stub)}); use one stub per class`,
      );
    }
    const sameName = [...this.classes.keys()].find((other) => other !== cls && other.name === cls.name);
    if (sameName) {
      throw new UsageError(`two decorated classes are named ${cls.name}; functions are named Class.method, so rename one`);
    }
    this.classes.set(cls, stub);
    this.methods.set(method, { cls, methodName, stub });
  }

  /** The decorated classes, in the order they were decorated. */
  allClasses(): AnyClass[] {
    return [...this.classes.keys()];
  }

  stubOf(cls: AnyClass): Stub | undefined {
    return this.classes.get(cls);
  }

  findClass(name: string): AnyClass | undefined {
    return [...this.classes.keys()].find((cls) => cls.name === name);
  }

  /** The class and name of a decorated method, from the method itself (`this.square`). */
  refOf(method: Function): MethodRef | undefined {
    return this.methods.get(method);
  }

  /**
   * Makes `standIn` (a wrapper of a decorated method) mean the same method to `fn()`; with
   * `params`, `fn(standIn)` calls it with those `@stub.parameter()` values (an instance's own).
   */
  alias(standIn: Function, method: Function, params?: ClassParamValues): void {
    const ref = this.methods.get(method);
    if (ref) this.methods.set(standIn, params && Object.keys(params).length > 0 ? { ...ref, params } : ref);
  }
}

function describeStub(stub: Stub): string {
  return stub.name ? `"${stub.name}"` : "an unnamed stub";
}

const GLOBAL_KEY = Symbol.for("stubrun.registry");

/** The process-wide registry. */
export function registry(): Registry {
  const holder = globalThis as { [GLOBAL_KEY]?: Registry };
  return (holder[GLOBAL_KEY] ??= new Registry());
}
