import type { CodeFile, CodeRecipe } from "@stubrun/protocol";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CODE_HASH_PATTERN } from "./code-recipe";

/** A stored blob (a package, files an image adds) that lands in a code folder at `path` ("" for its root). */
export interface CodeLayer {
  path: string;
  blob: string;
  /** The blob's folder in the blob store. */
  dir: string;
}

/**
 * Uploaded code, kept by content hash under `$STUBRUN_HOME/code/<hash>/`, with the packages and
 * files the app carries linked in beside it (hard links to the blob store: nothing is copied),
 * so Node resolves and reads in the worker as it did on the client. A directory never changes
 * once written, so a running version's code never changes under it.
 *
 * Beside each folder, `<hash>.json` keeps its recipe (its files, and which blob lands where):
 * what a worker node needs to rebuild the same folder in its own store (`GET /api/code/HASH`).
 * It is outside the folder, so the function never sees it.
 */
export class CodeStore {
  constructor(private readonly root: string) {}

  /**
   * Removes staging folders a killed server left half-written. Only call it while holding the
   * home's lock: then no other server is writing one.
   */
  removeLeftoverStaging(): number {
    let removed = 0;
    for (const name of safeReaddir(this.root)) {
      if (!STAGING.test(name)) continue;
      fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** The directory where code is kept. */
  get directory(): string {
    return this.root;
  }

  /** Stores the files with their layers (once per content) and returns their directory. */
  put(files: CodeFile[], layers: CodeLayer[] = []): string {
    const dir = path.join(this.root, codeFolderHash(files, layers).slice(0, 32));
    if (fs.existsSync(dir)) {
      // Code stored before recipes were kept gets one the next time it is uploaded.
      if (!fs.existsSync(`${dir}.json`)) this.writeRecipe(dir, files, layers);
      touch(dir); // in use again: retention measures a folder's age from its last upload
      return dir;
    }
    // The recipe first: a folder is never there without one (a recipe without its folder, left by
    // a crash between the two renames, is rewritten by the next upload and swept by retention).
    this.writeRecipe(dir, files, layers);
    const staging = stagingName(dir);
    try {
      for (const file of files) {
        const target = path.join(staging, file.path);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, file.code);
      }
      // Uploads are compiled to CommonJS, whatever the user's package.json says.
      fs.writeFileSync(path.join(staging, "package.json"), '{ "type": "commonjs" }\n');
      for (const layer of layers) linkTree(layer.dir, path.join(staging, ...layer.path.split("/").filter(Boolean)));
      fs.renameSync(staging, dir);
    } catch (error) {
      // Nothing half-written stays behind, whatever failed (a full disk, a name too long).
      fs.rmSync(staging, { recursive: true, force: true });
      if (!fs.existsSync(dir)) {
        fs.rmSync(`${dir}.json`, { force: true });
        throw error;
      }
    }
    return dir;
  }

  /** The recipe of the code folder named `hash`, or undefined when there is none. */
  recipePath(hash: string): string | undefined {
    if (!CODE_HASH_PATTERN.test(hash)) return undefined;
    const file = path.join(this.root, `${hash}.json`);
    return fs.existsSync(file) && fs.existsSync(path.join(this.root, hash)) ? file : undefined;
  }

  /** Writes `<dir>.json` through a staging file and a rename, so it is whole or absent. */
  private writeRecipe(dir: string, files: CodeFile[], layers: CodeLayer[]): void {
    const recipe: CodeRecipe = {
      files: [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => ({ path: f.path, code: f.code })),
      layers: layers.map((l) => ({ path: l.path, blob: l.blob })),
    };
    fs.mkdirSync(this.root, { recursive: true });
    const staging = stagingName(`${dir}.json`);
    try {
      fs.writeFileSync(staging, JSON.stringify(recipe));
      fs.renameSync(staging, `${dir}.json`);
    } catch (error) {
      fs.rmSync(staging, { force: true });
      throw error;
    }
  }
}

/** The name of a code folder: its code's hash, and what its layers put where. */
function codeFolderHash(files: CodeFile[], layers: CodeLayer[]): string {
  const code = contentHash(files);
  if (layers.length === 0) return code; // as before layers existed: stored code keeps its folder
  const hash = createHash("sha256").update(code);
  for (const layer of layers) hash.update(`\n${Buffer.byteLength(layer.path)}:${layer.path}:${layer.blob}`);
  return hash.digest("hex");
}

/**
 * Links every file of `from` into `to` (hard links; a copy where the file system refuses), and
 * recreates its symbolic links. What is there already stays: code wins over a package's file,
 * and an earlier layer over a later one.
 */
function linkTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      if (fs.lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) continue;
      linkTree(source, target);
    } else if (fs.lstatSync(target, { throwIfNoEntry: false })) {
      continue;
    } else if (entry.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(source), target);
    } else {
      try {
        fs.linkSync(source, target);
      } catch {
        fs.copyFileSync(source, target);
      }
    }
  }
}

/**
 * The hash of an upload: each path and each content prefixed with its length in bytes, so no
 * two different uploads hash alike whatever bytes their code holds (a NUL separator could be
 * forged by code that contains NULs).
 */
export function contentHash(files: CodeFile[]): string {
  const hash = createHash("sha256");
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  hash.update(`${sorted.length}\n`);
  for (const file of sorted) {
    hash.update(`${Buffer.byteLength(file.path)}:`).update(file.path);
    hash.update(`${Buffer.byteLength(file.code)}:`).update(file.code);
  }
  return hash.digest("hex");
}

/** `<hash>[.json].tmp-<pid>-<time>`: an upload or its recipe being written (see `put`). */
const STAGING = /^[0-9a-f]{32}(\.json)?\.tmp-\d+-\d+$/;

function stagingName(final: string): string {
  return `${final}.tmp-${process.pid}-${Date.now()}`;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function touch(dir: string): void {
  try {
    const now = new Date();
    fs.utimesSync(dir, now, now);
  } catch {
    // a read-only store still serves
  }
}
