import { UsageError, type ParamManifest, type ParamType } from "@stubrun/protocol";
import { getParameters, getParamTypes, getPropertyType, type AnyClass } from "@stubrun/sdk";
import type { LoadedFile } from "../loader/typescript.loader";
import { parseClassMembers, type MethodSignature } from "../loader/signature.parser";
import { TypeIndex } from "../loader/type-index";

/**
 * The parameters of a method, as options and web endpoints see them. Names, optionality, defaults,
 * literal unions and TSDoc come from the TypeScript source (SWC's parser); where the source says
 * nothing precise, the compiler's `design:paramtypes` fills in the type.
 */
export class ParamsReader {
  private readonly signatures = new Map<string, MethodSignature>();
  /** `@stub.parameter()` properties as the source declares them, by `Class.property`. */
  private readonly properties = new Map<string, ParamManifest>();

  constructor(files: Iterable<LoadedFile>) {
    const typeScript = [...files].filter((file) => /\.(c|m)?tsx?$/.test(file.absolutePath));
    // One index over the program's files: a parameter's type may be declared in another one.
    const types = new TypeIndex(new Map(typeScript.map((file) => [file.absolutePath, file.source])));
    for (const file of typeScript) {
      const { methods, parameters } = parseClassMembers(file.source, file.absolutePath, types);
      for (const sig of methods) this.signatures.set(`${sig.className}.${sig.methodName}`, sig);
      for (const { className, param } of parameters) this.properties.set(`${className}.${param.name}`, param);
    }
  }

  /** The TSDoc summary of a method, if it has one. */
  description(cls: AnyClass, methodName: string): string | undefined {
    return this.signatures.get(`${cls.name}.${methodName}`)?.description;
  }

  params(cls: AnyClass, methodName: string): ParamManifest[] {
    const reflected = getParamTypes(cls, methodName) ?? [];
    const fromSource = this.signatures.get(`${cls.name}.${methodName}`)?.params;
    if (!fromSource) {
      const arity = (cls.prototype as Record<string, Function>)[methodName]?.length ?? 0;
      return Array.from({ length: Math.max(arity, reflected.length) }, (_, i) => ({
        name: `arg${i + 1}`,
        type: reflectedType(reflected[i]) ?? "json",
        required: i < arity,
      }));
    }
    return fromSource.map((param, i) => (param.type === "json" ? { ...param, type: reflectedType(reflected[i]) ?? "json" } : param));
  }

  /**
   * The class's `@stub.parameter()` properties (the decorator says which; the source says their
   * types, defaults and docs; the compiler's `design:type` fills in a type the source leaves open).
   * Only strings, numbers, booleans and literal unions can be parameters: anything else is a usage error.
   */
  classParams(cls: AnyClass): ParamManifest[] {
    return getParameters(cls).map((entry) => {
      const fromSource = this.properties.get(`${cls.name}.${entry.name}`);
      const reflected = reflectedType(getPropertyType(cls, entry.name));
      const param: ParamManifest = fromSource
        ? { ...fromSource, type: fromSource.type === "json" ? (reflected ?? "json") : fromSource.type }
        : { name: entry.name, type: reflected ?? "json", required: entry.default === undefined, ...(entry.default !== undefined ? { defaultText: JSON.stringify(entry.default) } : {}) };
      if (!["string", "number", "boolean", "choice"].includes(param.type)) {
        throw new UsageError(
          `@stub.parameter() on ${cls.name}.${entry.name}: a parameter must be a string, a number, a boolean or a union of literals (like "small" | "large"), since it is given as text on the CLI; ` +
            `declare its type, e.g. \`@stub.parameter() ${entry.name}: string = "..."\``,
        );
      }
      return param;
    });
  }
}

function reflectedType(type: unknown): ParamType | undefined {
  if (type === Number) return "number";
  if (type === String) return "string";
  if (type === Boolean) return "boolean";
  if (type === Date) return "date";
  return undefined;
}
