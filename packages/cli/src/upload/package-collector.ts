import fs from "node:fs";
import Module from "node:module";
import path from "node:path";
import type { LoadedFile } from "../loader/typescript.loader";

/** An npm package the app needs, as installed here. */
export interface LocalPackage {
  name: string;
  version: string;
  /** Where Node finds it from the code (may be a link, as in workspaces): where it lands in the upload. */
  location: string;
  /** Where its files are. */
  realDir: string;
}

const nodeModulePaths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths;

/**
 * A bare name imported by compiled code: a require (CommonJS output, where import and import()
 * become one), or an import, import(), or export-from (a program compiled to ES modules).
 */
const BARE_IMPORT = /(?:\brequire\s*\(\s*|\bimport\s*\(\s*|\bfrom\s*|\bimport\s*)(["'])([^"'.\/][^"']*)\1/g;

/**
 * The packages the app's local files import, and everything those depend on (`dependencies`,
 * `optionalDependencies` and `peerDependencies` that are installed), found as Node would find
 * them. A package imported but not installed here is left out: it may be the image's (SPEC:
 * an await of import() of a package only the image has), else the worker says it is missing.
 */
export function collectPackages(files: Iterable<LoadedFile>): LocalPackage[] {
  const found = new Map<string, LocalPackage>();
  const queue: { name: string; location: string }[] = [];
  const want = (name: string, fromDir: string, nestedUnder?: { realDir: string; location: string }) => {
    if (isStubrun(name)) return;
    const at = findPackage(name, fromDir);
    if (!at) return;
    // A package in the node_modules of a linked package lands under the link, where Node will look.
    const location = nestedUnder && isInside(at, nestedUnder.realDir) ? path.join(nestedUnder.location, path.relative(nestedUnder.realDir, at)) : at;
    if (!found.has(location) && !queue.some((q) => q.location === location)) queue.push({ name, location });
  };
  const local = [...files];
  for (const file of local) {
    for (const [, , request] of file.compiled.matchAll(BARE_IMPORT)) {
      if (Module.isBuiltin(request) || path.isAbsolute(request)) continue;
      want(packageName(request), path.dirname(file.absolutePath));
    }
  }
  // What loading actually required, undeclared dependencies included (a package that relies on
  // npm's hoisting works on the client, so it must work in the worker).
  for (const dir of packagesLoadedBy(local.map((f) => f.absolutePath))) {
    if (!found.has(dir) && !queue.some((q) => q.location === dir)) queue.push({ name: path.basename(dir), location: dir });
  }
  for (let next = queue.shift(); next; next = queue.shift()) {
    const realDir = fs.realpathSync(next.location);
    const manifest = readPackageJson(realDir);
    const pkg: LocalPackage = { name: next.name, version: typeof manifest.version === "string" ? manifest.version : "0.0.0", location: next.location, realDir };
    found.set(next.location, pkg);
    const deps = { ...asRecord(manifest.peerDependencies), ...asRecord(manifest.optionalDependencies), ...asRecord(manifest.dependencies) };
    for (const dep of Object.keys(deps)) want(dep, realDir, pkg);
  }
  return [...found.values()].sort((a, b) => (a.location < b.location ? -1 : 1));
}

/**
 * The package folders of every module that the given files required, directly or through other
 * modules (Node's module tree, as loading left it). The walk goes through the user's files and
 * npm packages only: stubrun's own modules (what `stubrun` resolves to) are a dead end.
 */
function packagesLoadedBy(filenames: string[]): Set<string> {
  const local = new Set(filenames);
  const dirs = new Set<string>();
  const seen = new Set<Module>();
  const pending = filenames.map((f) => require.cache[f]).filter((m): m is Module => m !== undefined);
  for (let mod = pending.pop(); mod; mod = pending.pop()) {
    if (seen.has(mod)) continue;
    seen.add(mod);
    for (const child of mod.children) {
      const dir = local.has(child.filename) ? undefined : packageDirOf(child.filename);
      if (dir === undefined && !local.has(child.filename)) continue;
      if (dir !== undefined) {
        if (isStubrun(String(readPackageJson(dir).name))) continue;
        dirs.add(dir);
      }
      pending.push(child);
    }
  }
  return dirs;
}

/** `/p/node_modules/@scope/name` for a file anywhere inside that package; undefined outside node_modules. */
function packageDirOf(file: string): string | undefined {
  const parts = file.split(path.sep);
  const at = parts.lastIndexOf("node_modules");
  if (at < 0 || at + 1 >= parts.length - 1) return undefined;
  const end = parts[at + 1].startsWith("@") ? at + 3 : at + 2;
  return parts.slice(0, end).join(path.sep);
}

/** The folder that holds the outermost node_modules of a package's location: the upload's root must include it. */
export function installBase(location: string): string {
  const parts = location.split(path.sep);
  const at = parts.indexOf("node_modules");
  return at > 0 ? parts.slice(0, at).join(path.sep) || path.sep : path.dirname(location);
}

/** The package a bare specifier names: `lodash/fp` is `lodash`, `@scope/pkg/sub` is `@scope/pkg`. */
export function packageName(request: string): string {
  const parts = request.split("/");
  return request.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** stubrun itself is never uploaded: workers bring their own. */
function isStubrun(name: string): boolean {
  return name === "stubrun" || name.startsWith("@stubrun/");
}

function findPackage(name: string, fromDir: string): string | undefined {
  for (const dir of nodeModulePaths(fromDir)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
  }
  return undefined;
}

function readPackageJson(dir: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function isInside(file: string, dir: string): boolean {
  return file.startsWith(dir + path.sep);
}
