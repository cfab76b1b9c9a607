import type { Module, ModuleItem, TsEnumDeclaration, TsType } from "@swc/core";
import fs from "node:fs";
import path from "node:path";
import { parseSource } from "./source-parser";

/** A type name resolved to what it stands for: an alias (read in the file that declares it) or an enum's values. */
export type ResolvedType = { kind: "alias"; type: TsType; file: string } | { kind: "enum"; values: (string | number)[] };

/** What a file declares, imports and exports of types: enough to follow a type name across local files. */
interface TypeFacts {
  aliases: Map<string, TsType>;
  enums: Map<string, (string | number)[]>;
  /** Local name -> where it comes from. */
  imports: Map<string, { specifier: string; name: string }>;
  /** Exported name -> local name. */
  exports: Map<string, string>;
  /** Exported name -> the module it is re-exported from (`export { A as B } from "./x"`). */
  reexports: Map<string, { specifier: string; name: string }>;
  /** `export * from "./x"`. */
  starExports: string[];
}

/**
 * Type aliases and enums across the program's local files, followed through imports and
 * re-exports as tsc would, so a parameter typed with a union or an enum from `./types.ts` gets its
 * choices. Files are parsed when first asked about, from `sources` (what the loader read) or the
 * disk (a file only `import type` names is erased from the compiled code and never loaded).
 */
export class TypeIndex {
  private readonly facts = new Map<string, TypeFacts | undefined>();

  constructor(private readonly sources: Map<string, string> = new Map()) {}

  /** Takes a file's facts from a tree already parsed (the signature reader's), so it is not parsed again. */
  remember(file: string, module: Module): void {
    if (!this.facts.has(file)) this.facts.set(file, typeFactsOf(module));
  }

  /** What `name`, used in `file`, stands for; undefined for anything else (a class, a package's type). */
  resolve(name: string, file: string, depth = 0): ResolvedType | undefined {
    const facts = this.factsOf(file);
    if (!facts || depth > 16) return undefined;
    const alias = facts.aliases.get(name);
    if (alias) return { kind: "alias", type: alias, file };
    const values = facts.enums.get(name);
    if (values) return { kind: "enum", values };
    const imported = facts.imports.get(name);
    if (!imported) return undefined;
    const target = this.localModule(imported.specifier, file);
    return target ? this.exported(imported.name, target, depth + 1) : undefined;
  }

  /** What `file` exports as `name`. */
  private exported(name: string, file: string, depth: number): ResolvedType | undefined {
    const facts = this.factsOf(file);
    if (!facts || depth > 16) return undefined;
    const local = facts.exports.get(name);
    if (local !== undefined) return this.resolve(local, file, depth);
    const again = facts.reexports.get(name);
    if (again) {
      const target = this.localModule(again.specifier, file);
      return target ? this.exported(again.name, target, depth + 1) : undefined;
    }
    for (const specifier of facts.starExports) {
      const target = this.localModule(specifier, file);
      const found = target ? this.exported(name, target, depth + 1) : undefined;
      if (found) return found;
    }
    return undefined;
  }

  /** The TypeScript file a relative import names: `./types`, `./types.js` (ESM style) or a folder's index. */
  private localModule(specifier: string, from: string): string | undefined {
    if (!/^\.\.?\//.test(specifier)) return undefined;
    const base = path.resolve(path.dirname(from), specifier);
    const stem = base.replace(/\.(c|m)?js$/, "");
    const candidates = [base, ...[".ts", ".tsx", ".mts", ".cts", "/index.ts", "/index.tsx"].map((ext) => stem + ext)];
    return candidates.find((file) => /\.(c|m)?tsx?$/.test(file) && (this.sources.has(file) || isFile(file)));
  }

  private factsOf(file: string): TypeFacts | undefined {
    if (!this.facts.has(file)) {
      let source = this.sources.get(file);
      try {
        source ??= fs.readFileSync(file, "utf8");
        this.facts.set(file, typeFactsOf(parseSource(source, file).module));
      } catch {
        this.facts.set(file, undefined); // unreadable or broken: its names stay unresolved (the loader reports syntax errors)
      }
    }
    return this.facts.get(file);
  }
}

/** The type facts of a parsed module (top-level declarations only, as imports and exports are). */
export function typeFactsOf(module: Module): TypeFacts {
  const facts: TypeFacts = { aliases: new Map(), enums: new Map(), imports: new Map(), exports: new Map(), reexports: new Map(), starExports: [] };
  for (const item of module.body as ModuleItem[]) {
    const declaration = item.type === "ExportDeclaration" ? item.declaration : item;
    if (declaration.type === "TsTypeAliasDeclaration") facts.aliases.set(declaration.id.value, declaration.typeAnnotation);
    if (declaration.type === "TsEnumDeclaration") {
      const values = enumValues(declaration);
      if (values) facts.enums.set(declaration.id.value, values);
    }
    if (item.type === "ExportDeclaration" && (declaration.type === "TsTypeAliasDeclaration" || declaration.type === "TsEnumDeclaration")) {
      facts.exports.set(declaration.id.value, declaration.id.value);
    }
    if (item.type === "ImportDeclaration") {
      for (const spec of item.specifiers) {
        if (spec.type === "ImportSpecifier") facts.imports.set(spec.local.value, { specifier: item.source.value, name: spec.imported?.value ?? spec.local.value });
      }
    }
    if (item.type === "ExportNamedDeclaration") {
      for (const spec of item.specifiers) {
        if (spec.type !== "ExportSpecifier") continue;
        const local = spec.orig.value;
        const exported = spec.exported?.value ?? local;
        if (item.source) facts.reexports.set(exported, { specifier: item.source.value, name: local });
        else facts.exports.set(exported, local);
      }
    }
    if (item.type === "ExportAllDeclaration") facts.starExports.push(item.source.value);
  }
  return facts;
}

/** An enum's values as tsc computes them for literal members: strings, numbers, and numbers counting up. */
function enumValues(declaration: TsEnumDeclaration): (string | number)[] | undefined {
  const values: (string | number)[] = [];
  let next = 0;
  for (const member of declaration.members) {
    const init = member.init;
    if (!init) values.push(next++);
    else if (init.type === "StringLiteral") values.push(init.value);
    else if (init.type === "NumericLiteral") values.push((next = init.value) + 0), next++;
    else if (init.type === "UnaryExpression" && init.operator === "-" && init.argument.type === "NumericLiteral") values.push((next = -init.argument.value) + 0), next++;
    else return undefined; // computed members: not a set of choices
  }
  return values;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
