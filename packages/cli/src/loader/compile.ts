import type { Options } from "@swc/core";
import { UsageError } from "@stubrun/protocol";
import path from "node:path";
import { compileCache, swcVersion } from "./compile-cache";

/** What a file is compiled to: CommonJS (the default), or an ES module for a program with top-level `await`. */
export type ModuleFormat = "commonjs" | "module";

/** What `__dirname` and `__filename` are in an ES module (Node 20.11+). */
const ESM_DIRNAME = { __dirname: "import.meta.dirname", __filename: "import.meta.filename" };

/**
 * Compiles one TypeScript file to CommonJS (or to an ES module) with SWC. SWC, unlike tsx and
 * esbuild, emits `design:paramtypes` for experimental decorators, which stubrun reads to build CLI
 * options. The source map is inline, so stack traces (in the CLI and in workers) point into the .ts file.
 * SWC's output is cached on disk (compile-cache.ts): SWC itself is loaded only when a file changed.
 */
export function compileTypeScript(source: string, fileName: string, format: ModuleFormat = "commonjs"): string {
  const options: Options = {
    filename: fileName,
    sourceFileName: fileName,
    sourceMaps: "inline",
    swcrc: false,
    configFile: false,
    // In CommonJS, import() becomes a require, so it goes through the loader's hooks (a local .ts
    // file, `stubrun`) locally and in workers; an ES module keeps it, for the ESM hooks (esm-hooks.ts).
    module: { type: format === "module" ? "es6" : "commonjs" },
    jsc: {
      target: "es2022",
      keepClassNames: true,
      parser: { syntax: "typescript", decorators: true, tsx: fileName.endsWith(".tsx") },
      transform: {
        legacyDecorator: true,
        decoratorMetadata: true,
        useDefineForClassFields: false,
        // A file written for CommonJS keeps its `__dirname` when its program runs as ES modules
        // (a top-level await elsewhere); SWC replaces only the free ones, not a file's own.
        ...(format === "module" ? { optimizer: { simplify: false, globals: { vars: ESM_DIRNAME } } } : {}),
      },
      // `import data from "./data.json" with { type: "json" }`: an ES module needs its attributes.
      experimental: { keepImportAttributes: true },
    },
  };
  const code = compileCache().text(["js", swcVersion(), JSON.stringify(options), source], () => {
    try {
      return (require("@swc/core") as typeof import("@swc/core")).transformSync(source, options).code;
    } catch (error) {
      throw syntaxError(error, fileName);
    }
  });
  return withErrorClassesRegistered(code, source);
}

/** A class declared at the top of a file (at the start of a line) that extends another. */
const TOP_LEVEL_SUBCLASS = /^(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)\s+extends\b/gm;

/**
 * Registers the file's error classes by name when it has run (protocol's registerErrorClass
 * map), so an error of one of them thrown in a worker comes back to the caller as an instance,
 * with its fields. Added before the source map comment: line numbers stay as they were.
 */
function withErrorClassesRegistered(code: string, source: string): string {
  const names = [...new Set([...source.matchAll(TOP_LEVEL_SUBCLASS)].map((m) => m[1]))];
  if (names.length === 0) return code;
  const candidates = names.map((name) => `typeof ${name} === "function" ? ${name} : undefined`).join(", ");
  const register = `;(() => { const known = (globalThis[Symbol.for("stubrun.errorClasses")] ??= new Map()); for (const c of [${candidates}]) if (c && c.prototype instanceof Error) known.set(c.name, c); })();\n`;
  const map = code.lastIndexOf("\n//# sourceMappingURL=");
  return map < 0 ? `${code}\n${register}` : `${code.slice(0, map + 1)}${register}${code.slice(map + 1)}`;
}

/** Turns SWC's report into `file:line: message` plus its code frame, without SWC's native backtrace. */
export function syntaxError(error: unknown, fileName: string): UsageError {
  const report = String((error as Error)?.message ?? error);
  const frame = report.split(/\n\s*\nCaused by:|\nStack backtrace:/)[0].trimEnd();
  const where = /,-\[(.*?):(\d+):(\d+)\]/.exec(frame);
  const line = where ? where[2] : "1";
  const firstMessage = /^\s*[x×]\s+(.*)$/m.exec(frame)?.[1] ?? "syntax error";
  const shown = path.relative(process.cwd(), fileName) || fileName;
  return new UsageError(`${shown}:${line}: ${firstMessage}\n${frame}`);
}
