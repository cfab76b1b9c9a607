import type { Module } from "@swc/core";
import fs from "node:fs";
import { parseSource } from "./source-parser";

/** What the loader needs to know of one file before it runs anything. */
export interface ModuleFacts {
  /** The file awaits at its top level (`await`, `for await`, `await using`): it can only run as an ES module. */
  topLevelAwait: boolean;
  /** What it imports by a literal name: `import`/`export ... from`, `import()`, `require()`, `import x = require()`. */
  requests: string[];
}

/** The local TypeScript files a program is made of, as far as literal imports tell. */
export interface ImportGraph {
  /** Every file reached from the entry (the entry first), statically or through `import()`. */
  files: string[];
  /** Those of them that await at their top level. */
  awaitingAtTop: string[];
}

/**
 * Follows the literal imports of a program from its entry, through the files `resolveLocal`
 * accepts (it answers undefined for a package, a missing file or anything not TypeScript), and
 * says which of them await at their top level. Nothing runs: the files are only parsed, and a
 * syntax error is a usage error naming the file and line.
 */
export function scanImportGraph(entry: string, resolveLocal: (request: string, importer: string) => string | undefined): ImportGraph {
  const files = [entry];
  const seen = new Set(files);
  const awaitingAtTop: string[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    const facts = moduleFacts(parseSource(fs.readFileSync(file, "utf8"), file).module);
    if (facts.topLevelAwait) awaitingAtTop.push(file);
    for (const request of facts.requests) {
      if (!/^\.\.?\//.test(request) && !request.startsWith("/")) continue; // packages are not the user's files
      const target = resolveLocal(request, file);
      if (target && !seen.has(target)) {
        seen.add(target);
        files.push(target);
      }
    }
  }
  return { files, awaitingAtTop };
}

/** Nodes whose body is not the module's top level: an `await` inside them is not a top-level one. */
const SCOPES = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
  "ClassMethod",
  "PrivateMethod",
  "Constructor",
  "MethodProperty",
  "GetterProperty",
  "SetterProperty",
  "ClassProperty",
  "PrivateProperty",
  "StaticBlock",
]);

type AstNode = { type?: unknown; [key: string]: unknown };

/** Reads a parsed file's top-level awaits and literal imports from its syntax tree. */
export function moduleFacts(module: Module): ModuleFacts {
  const facts: ModuleFacts = { topLevelAwait: false, requests: [] };
  const visit = (node: unknown, topLevel: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, topLevel);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const n = node as AstNode;
    if (topLevel && isAwait(n)) facts.topLevelAwait = true;
    const request = requestOf(n);
    if (request !== undefined) facts.requests.push(request);
    const inner = topLevel && !SCOPES.has(n.type as string);
    for (const [key, value] of Object.entries(n)) if (key !== "span") visit(value, inner);
  };
  visit(module.body, true);
  return facts;
}

function isAwait(node: AstNode): boolean {
  return (
    node.type === "AwaitExpression" ||
    (node.type === "ForOfStatement" && !!node.await) ||
    (node.type === "UsingDeclaration" && node.isAwait === true)
  );
}

/** The module a node imports by a literal name, if it is an import of any kind. */
function requestOf(node: AstNode): string | undefined {
  switch (node.type) {
    case "ImportDeclaration":
    case "ExportAllDeclaration":
    case "ExportNamedDeclaration":
      // `import type` is erased; `export { x }` without `from` has no source.
      return node.typeOnly ? undefined : literal(node.source);
    case "TsImportEqualsDeclaration": {
      const ref = node.moduleRef as AstNode;
      return ref.type === "TsExternalModuleReference" && !node.isTypeOnly ? literal(ref.expression) : undefined;
    }
    case "CallExpression": {
      const callee = node.callee as AstNode;
      const isImport = callee.type === "Import" || (callee.type === "Identifier" && callee.value === "require");
      const first = (node.arguments as { expression: unknown }[])[0];
      return isImport && first ? literal(first.expression) : undefined;
    }
    default:
      return undefined;
  }
}

/** The text of a string literal, or of a template literal with no `${}` in it. */
function literal(node: unknown): string | undefined {
  const n = node as AstNode | undefined;
  if (n?.type === "StringLiteral") return n.value as string;
  if (n?.type === "TemplateLiteral" && (n.expressions as unknown[]).length === 0) return (n.quasis as { cooked?: string }[])[0]?.cooked;
  return undefined;
}
