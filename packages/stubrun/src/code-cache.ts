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

/** Bumped when the pack's layout changes. */
const FORMAT = "stubrun-v8-pack-1";

/** A module's code cache: for the file as `header` says it was, and the sha1 of `data`. */
interface PackEntry {
  header: string;
  sum: string;
  data: Buffer;
}

/**
 * Keeps V8's compiled code of stubrun's own modules between runs, as Node 22's module compile
 * cache would (Node 20 has none): of `stubrun FILE`'s time beyond Node's own start, a good part
 * was V8 compiling the same hundred modules of the CLI, the SDK and their packages every time (issue 11).
 *
 * Only `.js` and `.cjs` files under a `node_modules` folder or in stubrun's own packages are cached,
 * never a user's file (the CLI caches what SWC makes of those itself), all in one file,
 * `$STUBRUN_HOME/cache/v8/modules.bin` (a file for each cost a first run some 45 ms of file
 * creation here). A module's entry is used only when the file's size and modification time,
 * Node's version and the entry's sha1 all match (V8 checks its own version and flags, but not its
 * checksum in release builds: damaged code would crash it); otherwise the module is compiled as
 * Node compiles it, and when the process exits the pack is written again with it (and what the
 * run compiled lazily), to a temporary file renamed over the old one. Anything unusual (an ES
 * module, a syntax error, a module that may call `import()`) goes to Node's own `_compile`.
 */
export function useCodeCache(home = process.env.STUBRUN_HOME || path.join(os.homedir(), ".stubrun")): void {
  const packFile = path.join(path.resolve(home), "cache", "v8", "modules.bin");
  const ownPackages = path.resolve(__dirname, "../..") + path.sep;
  const internals = Module as Internals;
  const compile = (Module.prototype as Compiling)._compile;
  const pack = readPack(packFile);
  const stale = new Map<string, { header: string; script: vm.Script }>();

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
      const header = headerOf(filename);
      const entry = pack.get(filename);
      const cachedData = entry && entry.header === header && entry.sum === sha1(entry.data) ? entry.data : undefined;
      const script = new vm.Script(internals.wrap(content), { filename, cachedData });
      if (cachedData === undefined || script.cachedDataRejected) stale.set(filename, { header, script });
      run = script.runInThisContext({ displayErrors: true }) as Function;
    } catch {
      return compile.call(this, content, filename, format); // Node says what is wrong, or reads it another way
    }
    const dirname = path.dirname(filename);
    return run.call(this.exports, this.exports, requireFor(this, internals), this, filename, dirname);
  };

  process.once("exit", () => {
    if (stale.size === 0) return;
    for (const [filename, { header, script }] of stale) {
      const data = script.createCachedData();
      pack.set(filename, { header, sum: sha1(data), data });
    }
    // Entries of files changed or gone since (another command's modules stay).
    for (const [filename, entry] of pack) if (!stale.has(filename) && headerOf(filename) !== entry.header) pack.delete(filename);
    writePack(packFile, pack);
  });
}

/** What an entry must say of `filename` to be used for it now: "" when the file is gone. */
function headerOf(filename: string): string {
  try {
    const stat = fs.statSync(filename);
    return `${process.version} ${stat.size} ${stat.mtimeMs}`;
  } catch {
    return "";
  }
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

/**
 * The pack's entries by file name: a line naming the format, a line of JSON indexing the data
 * (`[file, header, sha1, offset, length]`), then the data. A pack that does not read is empty.
 */
function readPack(file: string): Map<string, PackEntry> {
  try {
    const raw = fs.readFileSync(file);
    const first = raw.indexOf(10);
    const second = raw.indexOf(10, first + 1);
    if (first < 0 || second < 0 || raw.subarray(0, first).toString() !== FORMAT) return new Map();
    const index = JSON.parse(raw.subarray(first + 1, second).toString()) as [string, string, string, number, number][];
    const base = second + 1;
    return new Map(index.map(([filename, header, sum, offset, length]) => [filename, { header, sum, data: raw.subarray(base + offset, base + offset + length) }]));
  } catch {
    return new Map();
  }
}

/** Best effort: a run that cannot write (a read-only home) only compiles next time too. */
function writePack(file: string, pack: Map<string, PackEntry>): void {
  const index: [string, string, string, number, number][] = [];
  let offset = 0;
  for (const [filename, { header, sum, data }] of pack) {
    index.push([filename, header, sum, offset, data.length]);
    offset += data.length;
  }
  const temporary = `${file}.${process.pid}`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(temporary, Buffer.concat([Buffer.from(`${FORMAT}\n${JSON.stringify(index)}\n`), ...[...pack.values()].map((e) => e.data)]));
    fs.renameSync(temporary, file);
  } catch {
    fs.rmSync(temporary, { force: true });
  }
}
