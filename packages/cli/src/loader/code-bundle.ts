import type { CodeFile, PackageRef } from "@stubrun/protocol";
import path from "node:path";
import type { LoadedFile } from "./typescript.loader";

/** The user's code as it is uploaded: compiled files under paths relative to their common root. */
export interface CodeBundle {
  /** Absolute directory on this machine that the paths are relative to. */
  root: string;
  /** The entry module's path inside the bundle. */
  entry: string;
  files: CodeFile[];
  /** The npm packages that travel with the code (see bundleApp). */
  packages: PackageRef[];
}

/**
 * Bundles the files the loader saw; `.ts` files are stored as `.js` so `require("./lib")` finds
 * them, and those compiled to ES modules as `.mjs`, since the upload's root says CommonJS (the
 * worker's ESM hooks find `./lib.js` as `lib.mjs`). The root holds them all, and `alsoUnder`
 * too (where the packages' node_modules are, the files images add).
 */
export function bundleCode(entryFile: string, loaded: Iterable<LoadedFile>, alsoUnder: string[] = []): CodeBundle {
  const files = [...loaded];
  const root = commonDirectory([...files.map((f) => path.dirname(f.absolutePath)), ...alsoUnder]);
  const modules = new Set(files.filter((f) => f.format === "module").map((f) => f.absolutePath));
  const toBundlePath = (absolutePath: string) => {
    const relative = path.relative(root, absolutePath).split(path.sep).join("/");
    if (modules.has(absolutePath)) return relative.replace(/\.(ts|tsx|mts)$/, ".mjs");
    return relative.replace(/\.(ts|tsx|mts)$/, ".js").replace(/\.cts$/, ".cjs");
  };
  return {
    root,
    entry: toBundlePath(path.resolve(entryFile)),
    files: files.map((f) => ({ path: toBundlePath(f.absolutePath), code: f.compiled })),
    packages: [],
  };
}

export function commonDirectory(dirs: string[]): string {
  return dirs.reduce((common, dir) => {
    while (common !== dir && !dir.startsWith(common + path.sep) && common !== path.dirname(common)) common = path.dirname(common);
    return common;
  });
}
