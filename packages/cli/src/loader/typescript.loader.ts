import { UsageError } from "@stubrun/protocol";
import fs from "node:fs";
import Module from "node:module";
import path from "node:path";
import { packageName } from "../upload/package-collector";
import { compileTypeScript, type ModuleFormat } from "./compile";
import { SYNTAX_ERROR } from "./esm-hooks";
import { scanImportGraph } from "./import-graph";
import { isLocal, TYPESCRIPT_FILE } from "./local-files";

/** A local file of the user's program as the loader saw it. */
export interface LoadedFile {
  absolutePath: string;
  source: string;
  /** The code that ran (and that workers will run). */
  compiled: string;
  /** What `compiled` is. @default "commonjs" */
  format?: ModuleFormat;
}

const TS_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts"];

type ModuleInternals = typeof Module & {
  _extensions: Record<string, (module: Module & { _compile(code: string, file: string): void }, filename: string) => void>;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
};

/**
 * Loads a user's TypeScript program with decorator metadata: a require hook compiles each .ts file
 * with SWC, and records every local file (outside node_modules), so the same code can be uploaded.
 * A program that awaits at its top level (in any file its literal imports reach) cannot be
 * CommonJS: it runs as ES modules instead (esm.loader.ts), every local .ts file of it compiled to one.
 */
export class TypeScriptLoader {
  readonly files = new Map<string, LoadedFile>();
  private installed = false;

  /** Loads `file` (and, through require or import, everything it imports). */
  async load(file: string): Promise<void> {
    const absolutePath = path.resolve(file);
    if (!fs.existsSync(absolutePath)) throw new UsageError(`no such file: ${file}`);
    if (!fs.statSync(absolutePath).isFile()) throw new UsageError(`${file} is a directory; give a .ts file`);
    this.install();
    process.setSourceMapsEnabled(true);
    // Parsed before anything runs (the signature reader reuses the trees): top-level await decides how the program loads.
    const graph = TYPESCRIPT_FILE.test(absolutePath) ? scanImportGraph(absolutePath, (request, importer) => this.resolveLocal(request, importer)) : undefined;
    try {
      if (graph && graph.awaitingAtTop.length > 0) {
        await this.loadAsModules(absolutePath, graph.files);
      } else {
        require(absolutePath);
        this.addUnloaded();
      }
    } catch (error) {
      throw loadingError(error);
    }
  }

  /**
   * Runs the program as ES modules. Every file the import scan found is compiled here and
   * recorded, those that only a function imports too (the upload needs them), then handed to the
   * hooks, which compile only what the scan could not see (a computed `import()`).
   */
  private async loadAsModules(entry: string, graphFiles: string[]): Promise<void> {
    const compiled = graphFiles.map((file): LoadedFile => {
      const source = fs.readFileSync(file, "utf8");
      return { absolutePath: file, source, compiled: compileTypeScript(source, file, "module"), format: "module" };
    });
    for (const loaded of compiled) this.files.set(loaded.absolutePath, loaded);
    // The hooks thread and its module loader: only for a program that awaits at its top level.
    const { importAsEsm } = require("./esm.loader") as typeof import("./esm.loader");
    for (const loaded of await importAsEsm(entry, compiled)) this.files.set(loaded.absolutePath, loaded);
  }

  /** The local TypeScript file a relative import names, resolved as require resolves it (`./a.js` is `a.ts`). */
  private resolveLocal(request: string, importer: string): string | undefined {
    try {
      const target = (Module as ModuleInternals)._resolveFilename(request, parentIn(importer), false);
      return isLocal(target) && TYPESCRIPT_FILE.test(target) ? target : undefined;
    } catch {
      return undefined; // the import fails when it runs, with Node's message
    }
  }

  /**
   * Records the local files that loading did not run, such as those a function imports with
   * `await import("./lib/util.js")`: the upload needs them too. Compiled, not run.
   */
  private addUnloaded(): void {
    const internals = Module as ModuleInternals;
    const pending = [...this.files.values()];
    for (let file = pending.pop(); file; file = pending.pop()) {
      for (const [, request] of file.compiled.matchAll(/\brequire\("(\.\.?\/[^"]*)"\)/g)) {
        let target: string;
        try {
          target = internals._resolveFilename(request, parentIn(file.absolutePath), false);
        } catch {
          continue; // the import fails at run time, with Node's message
        }
        if (this.files.has(target) || !isLocal(target) || !/\.(c|m)?(t|j)sx?$/.test(target)) continue;
        const source = fs.readFileSync(target, "utf8");
        const compiled = /\.(c|m)?tsx?$/.test(target) ? compileTypeScript(source, target) : source;
        const loaded = { absolutePath: target, source, compiled };
        this.files.set(target, loaded);
        pending.push(loaded);
      }
    }
  }

  private install(): void {
    if (this.installed) return;
    this.installed = true;
    const internals = Module as ModuleInternals;
    const compileTs = (module: Module & { _compile(code: string, file: string): void }, filename: string) => {
      const source = fs.readFileSync(filename, "utf8");
      const compiled = compileTypeScript(source, filename);
      if (isLocal(filename)) this.files.set(filename, { absolutePath: filename, source, compiled });
      try {
        module._compile(compiled, filename);
      } catch (error) {
        throw awaitingAtTop(error, filename);
      }
    };
    for (const ext of TS_EXTENSIONS) internals._extensions[ext] = compileTs;

    const loadJs = internals._extensions[".js"];
    internals._extensions[".js"] = (module, filename) => {
      if (!isLocal(filename)) return loadJs(module, filename);
      const source = fs.readFileSync(filename, "utf8");
      this.files.set(filename, { absolutePath: filename, source, compiled: source });
      try {
        loadJs(module, filename);
      } catch (error) {
        throw decoratorsInJs(error, filename, source);
      }
    };

    const resolve = internals._resolveFilename;
    internals._resolveFilename = function (request, parent, isMain, options) {
      // `stubrun` is this CLI's own SDK, as in workers: a file anywhere runs without installing it,
      // and the program and the CLI share one copy (one registry, one session).
      if (CLIENT_PACKAGES.has(request)) return resolve.call(this, "@stubrun/sdk", SELF, false);
      try {
        return resolve.call(this, request, parent, isMain, options);
      } catch (error) {
        // TypeScript written for ESM imports "./lib.js" when the file on disk is lib.ts.
        if (/^\.\.?\//.test(request) && /\.(c|m)?js$/.test(request)) {
          return resolve.call(this, request.replace(/\.(c|m)?js$/, ".$1ts"), parent, isMain, options);
        }
        throw notInstalled(error, request, (parent as { filename?: string } | undefined)?.filename);
      }
    };
  }
}

/** What a user's file gets when it imports `stubrun` (or `@stubrun/client`), wherever the file is. */
const CLIENT_PACKAGES = new Set(["stubrun", "@stubrun/client"]);
/** A stand-in parent module at `filename`, so a request resolves as that file's would. */
function parentIn(filename: string): { id: string; filename: string; paths: string[] } {
  return { id: filename, filename, paths: (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(filename)) };
}

/** A stand-in parent module in this package, so `@stubrun/sdk` resolves from here. */
const SELF = { id: __filename, filename: __filename, paths: (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(__dirname) };

/**
 * A bare package that a local file imports and that is not installed where the file is: the error
 * names both and says how to install it. It keeps Node's `MODULE_NOT_FOUND` code, so a program
 * that tries an optional package still catches it; the loader turns it into a usage error.
 */
export class PackageNotInstalledError extends Error {
  readonly code = "MODULE_NOT_FOUND";
  constructor(
    readonly request: string,
    readonly importer: string,
  ) {
    const name = packageName(request);
    const shown = path.relative(process.cwd(), importer) || importer;
    super(
      name === "stubrun"
        ? `${shown} imports "${request}", which stubrun does not offer: its whole API is in "stubrun"`
        : `${shown} imports "${request}", which is not installed where the file is: npm install ${name}`,
    );
    this.name = "PackageNotInstalledError";
  }
}

/**
 * Errors of stubrun's own while loading are usage errors. From the ES module hooks' thread a
 * syntax error arrives as a plain Error with the code SYNTAX_ERROR, and a missing package as Node's
 * `ERR_MODULE_NOT_FOUND`; both are said as the require hook says them.
 */
function loadingError(error: unknown): unknown {
  if (error instanceof PackageNotInstalledError) return new UsageError(error.message);
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof message !== "string" || error instanceof UsageError) return error;
  if (code === SYNTAX_ERROR) return new UsageError(message);
  const missing = code === "ERR_MODULE_NOT_FOUND" ? /^Cannot find package '([^']+)' imported from (.+)$/.exec(message) : null;
  if (missing && isLocal(missing[2])) return new UsageError(new PackageNotInstalledError(missing[1], missing[2]).message);
  return error;
}

/**
 * A file that awaits at its top level, reached by a require or by an `import()` of a computed
 * path, which the import scan could not follow: Node's advice (use import()) does not help there.
 */
function awaitingAtTop(error: unknown, filename: string): unknown {
  if ((error as { code?: unknown })?.code !== "ERR_REQUIRE_ASYNC_MODULE") return error;
  const shown = path.relative(process.cwd(), filename) || filename;
  const clearer = Object.assign(
    new Error(`${shown} awaits at its top level, so it must be imported by a literal path (import "./x.js" or import("./x.js")): then stubrun sees it before running and loads the program as ES modules`),
    { code: "ERR_REQUIRE_ASYNC_MODULE" },
  );
  // Node's frames (where the import was), not this function's.
  const frames = String((error as Error).stack ?? "").split("\n").filter((line) => line.startsWith("    at "));
  clearer.stack = [`Error: ${clearer.message}`, ...frames].join("\n");
  return clearer;
}

function notInstalled(error: unknown, request: string, importer: string | undefined): unknown {
  const bare = !/^(\.|\/|node:)/.test(request) && !path.isAbsolute(request) && !Module.isBuiltin(request);
  if (!bare || !importer || !isLocal(importer) || (error as { code?: string })?.code !== "MODULE_NOT_FOUND") return error;
  return new PackageNotInstalledError(request, importer);
}

/**
 * A `.js` file with decorators is a syntax error to Node, which runs JavaScript as it is: say
 * that decorators need TypeScript, where the file is.
 */
function decoratorsInJs(error: unknown, filename: string, source: string): unknown {
  if (!(error instanceof SyntaxError)) return error;
  const line = source.split("\n").findIndex((text) => /^\s*@[A-Za-z_$][\w$.]*\(/.test(text));
  if (line < 0) return error;
  const shown = path.relative(process.cwd(), filename) || filename;
  return new UsageError(`${shown}:${line + 1}: decorators need TypeScript: rename ${path.basename(filename)} to ${path.basename(filename).replace(/\.(c|m)?js$/, ".ts")} (stubrun compiles .ts files itself, with the decorator metadata it reads)`);
}
