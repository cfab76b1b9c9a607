import { isLinkInside, TREE_END, TREE_MAGIC, treeEntryHeader, type TreeEntryKind } from "./tree-format";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** One entry of a folder about to be sent as a tree (see protocol/src/tree-format.ts). */
export interface TreeFile {
  /** Path inside the tree, "/"-separated. */
  path: string;
  kind: TreeEntryKind;
  /** Where the content is read from (for a link: unused). */
  source: string;
  size: number;
  /** A link's target. */
  target?: string;
}

/** A folder listed as a tree, and its blob hash. */
export interface PackedTree {
  files: TreeFile[];
  hash: string;
  bytes: number;
}

/**
 * Lists `dir` as a tree. Links that stay inside it stay links; others are followed (a file is
 * copied, a folder outside is left out, as are broken links). `skip` leaves out a relative path.
 */
export function listTree(dir: string, skip: (relative: string) => boolean = () => false): TreeFile[] {
  const files: TreeFile[] = [];
  const walk = (abs: string, rel: string) => {
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const childAbs = path.join(abs, entry.name);
      if (skip(childRel)) continue;
      if (entry.isSymbolicLink()) {
        const target = fs.readlinkSync(childAbs);
        if (isLinkInside(childRel, target.split(path.sep).join("/"))) {
          files.push({ path: childRel, kind: "l", source: childAbs, size: Buffer.byteLength(target), target: target.split(path.sep).join("/") });
          continue;
        }
        const stat = statOrUndefined(childAbs);
        if (stat?.isFile()) files.push(fileEntry(childRel, childAbs, stat));
        continue;
      }
      if (entry.isDirectory()) walk(childAbs, childRel);
      else if (entry.isFile()) files.push(fileEntry(childRel, childAbs, fs.statSync(childAbs)));
    }
  };
  walk(dir, "");
  return files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** A single file as a tree of one entry, under its own name. */
export function listFile(file: string): TreeFile[] {
  return [fileEntry(path.basename(file), file, fs.statSync(file))];
}

/**
 * The number of bytes `treeBytes(files)` yields, without reading any file (a Content-Length).
 * The listing lives here, beside the format, because both ends send trees: the CLI uploads an
 * app's packages, and the server sends them on to worker nodes (`GET /api/blobs/HASH`).
 */
export function treeByteLength(files: TreeFile[]): number {
  let bytes = TREE_MAGIC.length + TREE_END.length;
  for (const file of files) bytes += treeEntryHeader(file.kind, file.size, file.path).length + file.size;
  return bytes;
}

/** Hashes a listed tree, reading each file once. */
export function packTree(files: TreeFile[]): PackedTree {
  const hash = createHash("sha256").update(TREE_MAGIC);
  let bytes = TREE_MAGIC.length + TREE_END.length;
  for (const file of files) {
    const header = treeEntryHeader(file.kind, file.size, file.path);
    hash.update(header).update(content(file));
    bytes += header.length + file.size;
  }
  hash.update(TREE_END);
  return { files, hash: hash.digest("hex"), bytes };
}

/** The tree's bytes, file by file (a body for `PUT /api/blobs/HASH`, and `GET`'s answer). */
export async function* treeBytes(files: TreeFile[]): AsyncGenerator<Uint8Array> {
  yield Buffer.from(TREE_MAGIC);
  for (const file of files) {
    yield treeEntryHeader(file.kind, file.size, file.path);
    // No empty chunks: fetch stops sending the body at one.
    if (file.size > 0) yield content(file);
  }
  yield Buffer.from(TREE_END);
}

function content(file: TreeFile): Buffer {
  if (file.kind === "l") return Buffer.from(file.target!);
  const data = fs.readFileSync(file.source);
  if (data.length !== file.size) throw new Error(`${file.source} changed while it was being read; run again`);
  return data;
}

function fileEntry(rel: string, abs: string, stat: fs.Stats): TreeFile {
  return { path: rel, kind: stat.mode & 0o111 ? "x" : "f", source: abs, size: stat.size };
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
