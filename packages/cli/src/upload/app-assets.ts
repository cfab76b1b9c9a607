import { listFile, listTree, packTree, treeBytes, type PackedTree } from "@stubrun/protocol";
import path from "node:path";
import type { ApiClient } from "../api-client";
import type { Status } from "../status";

/**
 * The folders an app carries besides its code (its npm packages, the files its images add), each
 * packed as a tree and named by its hash. Uploaded before the app is created: only what the
 * server does not have yet travels, so a package goes over the wire once per server.
 */
export class AppAssets {
  private readonly trees = new Map<string, PackedTree>();

  /** Assets packed in another process (`stubrun serve` loads each version in a fresh one). */
  static from(trees: PackedTree[]): AppAssets {
    const assets = new AppAssets();
    for (const tree of trees) assets.add(tree);
    return assets;
  }

  /** The packed trees, as plain data. */
  toJSON(): PackedTree[] {
    return [...this.trees.values()];
  }

  /** A package's folder, without its own node_modules (those packages are listed on their own). */
  addPackage(dir: string): string {
    return this.add(packTree(listTree(dir, (relative) => relative === "node_modules")));
  }

  /** A folder, whole. */
  addFolder(dir: string): string {
    return this.add(packTree(listTree(dir)));
  }

  /** One file, as a tree holding it under its own name. */
  addFile(file: string): string {
    return this.add(packTree(listFile(file)));
  }

  get size(): number {
    return this.trees.size;
  }

  /** Uploads what the server lacks; says so on the status line when there is anything to send. */
  async upload(api: ApiClient, status: Status): Promise<{ blobs: number; bytes: number }> {
    if (this.trees.size === 0) return { blobs: 0, bytes: 0 };
    const { missing } = await api.post<{ missing: string[] }>("/api/blobs/missing", { hashes: [...this.trees.keys()] });
    const sending = missing.map((hash) => this.trees.get(hash)).filter((tree): tree is PackedTree => tree !== undefined);
    const bytes = sending.reduce((sum, tree) => sum + tree.bytes, 0);
    if (sending.length > 0) status.line(`Uploading ${sending.length} package folder(s) and file set(s), ${formatBytes(bytes)}`);
    for (const tree of sending) await api.put(`/api/blobs/${tree.hash}`, treeBytes(tree.files), tree.bytes);
    return { blobs: sending.length, bytes };
  }

  private add(tree: PackedTree): string {
    this.trees.set(tree.hash, tree);
    return tree.hash;
  }
}

/** A path inside the upload: relative to its root, "/"-separated ("" for the root itself). */
export function uploadPath(root: string, absolute: string): string {
  return path.relative(root, absolute).split(path.sep).join("/");
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`;
}
