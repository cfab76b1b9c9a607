import crypto from "node:crypto";
import fs from "node:fs";
import Module from "node:module";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";

/** What of Node's CommonJS loader this reaches into (the same parts as Node's own `require`). */
type Internals = typeof Module & {
  wrap(code: string): string;
  _resolveFilename(request: string, parent: Module, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: Module): string[] | null;
  _extensions: NodeJS.RequireExtensions;
  _cache: NodeJS.Dict<NodeModule>;
};
type Compiling = Module & { _compile(content: string, filename: string, format?: string): unknown };

/** Bumped when an entry's layout changes. */
const FORMAT = "stubrun-v8-1";

/**
 * Keeps V8's compiled code of stubrun's own modules between runs, as Node 22's module compile
 * cache would (Node 20 has none): of `stubrun FILE`'s time beyond Node's own start, a good part
 * was V8 compiling the same hundred modules of the CLI, the SDK and their packages every time (issue 11).
 *
 * Only `.js` and `.cjs` files under a `node_modules` folder or in stubrun's own packages are cached,
 * never a user's file (the CLI caches what SWC makes of those itself), one entry per file in
 * `$STUBRUN_HOME/cache/v8`, named by its path. An entry is used only when the file's size and
 * modification time, Node's version and the entry's own checksum all match (V8 checks its version
 * and flags too); otherwise the module is compiled as Node compiles it and its entry is written
 * again when the process exits, with what the run compiled lazily. Anything unusual (an ES module,
 * a syntax error, a module that may call `import()`) goes to Node's own `_compile`.
 */
export function useCodeCache(home = process.env.STUBRUN_HOME || path.join(os.homedir(), ".stubrun")): void {
  const dir = path.join(path.resolve(home), "cache", "v8");
  const ownPackages = path.resolve(__dirname, "../..") + path.sep;
  const internals = Module as Internals;
  const compile = (Module.prototype as Compiling)._compile;
  const stale: { file: string; header: string; script: vm.Script }[] = [];

  (Module.prototype as Compiling)._compile = function (this: Compiling, content: string, filename: string, format?: string) {
    // A script made with vm needs a loader of its own for `import()` (Node 20 warns that the
    // default one is experimental there): a module that may call it compiles as usual.
    const cacheable =
      format !== "module" &&
      /\.c?js$/.test(filename) &&
      (filename.includes(`${path.sep}node_modules${path.sep}`) || filename.startsWith(ownPackages)) &&
      !/\bimport\s*\(/.test(content);
    if (!cacheable) return compile.call(this, content, filename, format);
    let run: Function;
    try {
      const stat = fs.statSync(filename);
      const header = `${FORMAT} ${process.version} ${stat.size} ${stat.mtimeMs}`;
      const file = path.join(dir, `${crypto.createHash("sha1").update(filename).digest("hex")}.bin`);
      const cachedData = readEntry(file, header);
      const script = new vm.Script(internals.wrap(content), { filename, cachedData });
      if (cachedData === undefined || script.cachedDataRejected) stale.push({ file, header, script });
      run = script.runInThisContext({ displayErrors: true }) as Function;
    } catch {
      return compile.call(this, content, filename, format); // Node says what is wrong, or reads it another way
    }
    const dirname = path.dirname(filename);
    return run.call(this.exports, this.exports, requireFor(this, internals), this, filename, dirname);
  };

  process.once("exit", () => {
    for (const { file, header, script } of stale) writeEntry(dir, file, header, script.createCachedData());
  });
}

/** The `require` a module gets, as Node makes it. */
function requireFor(module: Module, internals: Internals): NodeJS.Require {
  const require = ((id: string) => module.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) => internals._resolveFilename(request, module, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => internals._resolveLookupPaths(request, module);
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = internals._extensions;
  require.cache = internals._cache;
  return require;
}

function sha1(data: Buffer): string {
  return crypto.createHash("sha1").update(data).digest("hex");
}

/** The code cache in `file` when its header says it is for this file as it is now and its checksum holds. */
function readEntry(file: string, header: string): Buffer | undefined {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  const newline = raw.indexOf(10);
  if (newline < 0) return undefined;
  const [format, version, size, mtime, checksum] = raw.subarray(0, newline).toString().split(" ");
  const data = raw.subarray(newline + 1);
  return `${format} ${version} ${size} ${mtime}` === header && checksum === sha1(data) ? data : undefined;
}

/** Best effort, to a temporary name then renamed: a run that cannot write (a read-only home) only compiles next time too. */
function writeEntry(dir: string, file: string, header: string, data: Buffer): void {
  const temporary = `${file}.${process.pid}`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(temporary, Buffer.concat([Buffer.from(`${header} ${sha1(data)}\n`), data]));
    fs.renameSync(temporary, file);
  } catch {
    fs.rmSync(temporary, { force: true });
  }
}
