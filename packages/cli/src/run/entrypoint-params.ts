import type { ParamManifest, ParamType } from "@stubrun/protocol";
import { getParamTypes, type AnyClass } from "@stubrun/sdk";
import type { LoadedFile } from "../loader/typescript.loader";
import { parseSignatures, type MethodSignature } from "../loader/signature.parser";
import { TypeIndex } from "../loader/type-index";

/**
 * The parameters of a method, as options and web endpoints see them. Names, optionality, defaults,
 * literal unions and TSDoc come from the TypeScript source (SWC's parser); where the source says
 * nothing precise, the compiler's `design:paramtypes` fills in the type.
 */
export class ParamsReader {
  private readonly signatures = new Map<string, MethodSignature>();

  constructor(files: Iterable<LoadedFile>) {
    const typeScript = [...files].filter((file) => /\.(c|m)?tsx?$/.test(file.absolutePath));
    // One index over the program's files: a parameter's type may be declared in another one.
    const types = new TypeIndex(new Map(typeScript.map((file) => [file.absolutePath, file.source])));
    for (const file of typeScript) {
      for (const sig of parseSignatures(file.source, file.absolutePath, types)) {
        this.signatures.set(`${sig.className}.${sig.methodName}`, sig);
      }
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
}

function reflectedType(type: unknown): ParamType | undefined {
  if (type === Number) return "number";
  if (type === String) return "string";
  if (type === Boolean) return "boolean";
  if (type === Date) return "date";
  return undefined;
}
