import "reflect-metadata";
import { METADATA } from "./keys";
import type { FunctionEntry, LifecycleHooks, ParameterEntry } from "./types";

/**
 * Typed readers and writers of stubrun's metadata: the only module that touches `Reflect`
 * metadata. Metadata lives on the class (not on `descriptor.value`), so wrapping a method
 * never loses it.
 */

type Class = abstract new (...args: never[]) => unknown;

/** The `@stub.function()` and `@stub.webEndpoint()` methods of a class, in declaration order. */
export function getFunctions(cls: Class): readonly FunctionEntry[] {
  return (Reflect.getOwnMetadata(METADATA.functions, cls) as FunctionEntry[] | undefined) ?? [];
}

/** The `@stub.localEntrypoint()` method names of a class, in declaration order. */
export function getEntrypoints(cls: Class): readonly string[] {
  return (Reflect.getOwnMetadata(METADATA.entrypoints, cls) as string[] | undefined) ?? [];
}

/** The enter and exit hooks of a class. */
export function getHooks(cls: Class): LifecycleHooks {
  return (Reflect.getOwnMetadata(METADATA.hooks, cls) as LifecycleHooks | undefined) ?? { enter: [], exit: [] };
}

/**
 * The parameter types the compiler emitted for a method (`design:paramtypes`), or undefined when
 * the code was compiled without decorator metadata (tsx and esbuild do not emit it).
 */
export function getParamTypes(cls: Class, methodName: string): readonly (unknown | undefined)[] | undefined {
  return Reflect.getMetadata(METADATA.paramTypes, cls.prototype as object, methodName) as unknown[] | undefined;
}

/** The `@stub.parameter()` properties of a class, in declaration order. */
export function getParameters(cls: Class): readonly ParameterEntry[] {
  return (Reflect.getOwnMetadata(METADATA.parameters, cls) as ParameterEntry[] | undefined) ?? [];
}

/** The type the compiler emitted for a decorated property (`design:type`): String, Number, Boolean, Object, ... */
export function getPropertyType(cls: Class, name: string): unknown {
  return Reflect.getMetadata(METADATA.propertyType, cls.prototype as object, name) as unknown;
}

export function addParameter(cls: Class, entry: ParameterEntry): void {
  Reflect.defineMetadata(METADATA.parameters, [...getParameters(cls), entry], cls);
}

export function addFunction(cls: Class, entry: FunctionEntry): void {
  Reflect.defineMetadata(METADATA.functions, [...getFunctions(cls), entry], cls);
}

export function addEntrypoint(cls: Class, methodName: string): void {
  Reflect.defineMetadata(METADATA.entrypoints, [...getEntrypoints(cls), methodName], cls);
}

export function addHook(cls: Class, phase: keyof LifecycleHooks, methodName: string): void {
  const hooks = getHooks(cls);
  Reflect.defineMetadata(METADATA.hooks, { ...hooks, [phase]: [...hooks[phase], methodName] }, cls);
}
