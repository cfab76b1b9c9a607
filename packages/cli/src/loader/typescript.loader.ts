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
    require(absolutePath);
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

    // TypeScript written for ESM imports "./lib.js" when the file on disk is lib.ts.
    const resolve = internals._resolveFilename;
    internals._resolveFilename = function (request, parent, isMain, options) {
      try {
        return resolve.call(this, request, parent, isMain, options);
      } catch (error) {
        if (!/^\.\.?\//.test(request) || !/\.(c|m)?js$/.test(request)) throw error;
        return resolve.call(this, request.replace(/\.(c|m)?js$/, ".$1ts"), parent, isMain, options);
      }
    };
  }
}

/** stubrun's own packages, when they are linked from a checkout rather than installed in node_modules. */
const STUBRUN_PACKAGES = path.resolve(__dirname, "../../..") + path.sep;

/** A file of the user's own project: what gets uploaded. */
function isLocal(filename: string): boolean {
  return !filename.split(path.sep).includes("node_modules") && !filename.startsWith(STUBRUN_PACKAGES);
}
