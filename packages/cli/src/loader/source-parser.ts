import type { Compiler, Module, ParseOptions } from "@swc/core";
import { syntaxError } from "./compile";
import { compileCache, swcVersion } from "./compile-cache";

// The Compiler method (unlike the exported parseSync) takes the file name, which then appears
// in syntax error messages as `[file:line:col]`. Made when a tree is not in the cache.
let compiler: Compiler | undefined;

/** Trees kept for their next reader: the loader's import scan parses, the signature reader reads again. */
const parsed = new Map<string, { text: string; module: Module }>();

/**
 * Parses a TypeScript file with SWC (no type checking), once per file and text: the loader reads
 * a file's imports and top-level `await` from the same tree that the CLI later reads its method
 * signatures from. A syntax error is a usage error, `file:line: message`, as compile.ts says it.
 * swc skips a leading BOM, so offsets in the tree count from after it: `text` is the source without it.
 * Trees are cached on disk (compile-cache.ts): their positions are read relative to the tree's own
 * start (signature.parser.ts), so a tree from another run reads the same.
 * @param options.last the caller is the tree's last reader: it is not kept (a tree is some 20
 *   times the size of its source)
 */
export function parseSource(source: string, fileName: string, options: { last?: boolean } = {}): { text: string; module: Module } {
  const text = source.replace(/^\uFEFF/, "");
  const cached = parsed.get(fileName);
  if (options.last) parsed.delete(fileName);
  if (cached?.text === text) return cached;
  const parseOptions: ParseOptions = { syntax: "typescript", decorators: true, tsx: fileName.endsWith(".tsx") };
  const json = compileCache().text(["ast", swcVersion(), JSON.stringify(parseOptions), text], () => {
    try {
      compiler ??= new (require("@swc/core") as typeof import("@swc/core")).Compiler();
      return JSON.stringify(compiler.parseSync(text, parseOptions, fileName));
    } catch (error) {
      throw syntaxError(error, fileName);
    }
  });
  const entry = { text, module: JSON.parse(json) as Module };
  if (!options.last) parsed.set(fileName, entry);
  return entry;
}
