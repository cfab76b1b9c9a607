import { UsageError } from "@stubrun/protocol";
import fs from "node:fs";
import Module from "node:module";
import path from "node:path";
import { compileTypeScript } from "./compile";

/** A local file of the user's program as the loader saw it. */
export interface LoadedFile {
  absolutePath: string;
  source: string;
  /** The CommonJS code that ran (and that workers will run). */
  compiled: string;
}

const TS_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts"];

type ModuleInternals = typeof Module & {
  _extensions: Record<string, (module: Module & { _compile(code: string, file: string): void }, filename: string) => void>;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
};

/**
 * Loads a user's TypeScript program with decorator metadata: a require hook compiles each .ts file
 * with SWC, and records every local file (outside node_modules), so the same code can be uploaded.
 */
export class TypeScriptLoader {
  readonly files = new Map<string, LoadedFile>();
  private installed = false;

  /** Loads `file` (and, through require, everything it imports). */
  load(file: string): void {
    const absolutePath = path.resolve(file);
    if (!fs.existsSync(absolutePath)) throw new UsageError(`no such file: ${file}`);
    if (!fs.statSync(absolutePath).isFile()) throw new UsageError(`${file} is a directory; give a .ts file`);
    this.install();
    process.setSourceMapsEnabled(true);
    try {
      require(absolutePath);
    } catch (error) {
      if (error instanceof PackageNotInstalledError) throw new UsageError(error.message);
      throw error;
    }
    this.addUnloaded();
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
      module._compile(compiled, filename);
    };
    for (const ext of TS_EXTENSIONS) internals._extensions[ext] = compileTs;

    const loadJs = internals._extensions[".js"];
    internals._extensions[".js"] = (module, filename) => {
      if (isLocal(filename)) {
        const source = fs.readFileSync(filename, "utf8");
        this.files.set(filename, { absolutePath: filename, source, compiled: source });
      }
      loadJs(module, filename);
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

function notInstalled(error: unknown, request: string, importer: string | undefined): unknown {
  const bare = !/^(\.|\/|node:)/.test(request) && !path.isAbsolute(request) && !Module.isBuiltin(request);
  if (!bare || !importer || !isLocal(importer) || (error as { code?: string })?.code !== "MODULE_NOT_FOUND") return error;
  return new PackageNotInstalledError(request, importer);
}

/** The package a bare specifier names: `lodash/fp` is `lodash`, `@scope/pkg/sub` is `@scope/pkg`. */
function packageName(request: string): string {
  const parts = request.split("/");
  return request.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** stubrun's own packages, when they are linked from a checkout rather than installed in node_modules. */
const STUBRUN_PACKAGES = path.resolve(__dirname, "../../..") + path.sep;

/** A file of the user's own project: what gets uploaded. */
function isLocal(filename: string): boolean {
  return !filename.split(path.sep).includes("node_modules") && !filename.startsWith(STUBRUN_PACKAGES);
}
