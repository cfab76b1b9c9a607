import { isSafeRelativePath } from "./validate";

/**
 * The tree format: a folder (an npm package, the files an image adds) as one stream of bytes,
 * whose sha256 names it (a "blob"). The client hashes the bytes it sends and the server hashes
 * the bytes it receives, so a blob's name always matches its content.
 *
 *     stubrun-tree 1\n
 *     per entry, sorted by path (bytewise): <kind> <size> <path length>\n <path> <content>
 *     end\n
 *
 * kind: `f` a file, `x` an executable file, `l` a symbolic link (content: its target, relative
 * and inside the tree). Folders are implied by the paths.
 */
export const TREE_MAGIC = "stubrun-tree 1\n";
export const TREE_END = "end\n";

export type TreeEntryKind = "f" | "x" | "l";

/** The bytes that start an entry. */
export function treeEntryHeader(kind: TreeEntryKind, size: number, path: string): Buffer {
  const name = Buffer.from(path);
  return Buffer.concat([Buffer.from(`${kind} ${size} ${name.length}\n`), name]);
}

/** What a TreeReader finds, in order: an entry, its content in chunks, its end. */
export interface TreeSink {
  entry(kind: TreeEntryKind, path: string, size: number): void;
  data(chunk: Buffer): void;
  entryEnd(): void;
}

/** A tree that breaks the format or a limit; the message says which. */
export class TreeFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TreeFormatError";
  }
}

export interface TreeLimits {
  maxEntries: number;
  /** The largest file or link target, in bytes. */
  maxEntryBytes: number;
}

/**
 * Reads a tree from chunks as they arrive, checking it as it goes: paths relative and inside the
 * tree, strictly in order (so each path once), symbolic links that stay inside, limits.
 */
export class TreeReader {
  private buffered: Buffer = Buffer.alloc(0);
  private state: "magic" | "header" | "path" | "content" | "done" = "magic";
  private remaining = 0;
  private pending: { kind: TreeEntryKind; size: number; pathLength: number } | undefined;
  private link: Buffer[] = [];
  private lastPath: Buffer | undefined;
  private entries = 0;
  private readonly links = new Set<string>();

  constructor(
    private readonly sink: TreeSink,
    private readonly limits: TreeLimits,
  ) {}

  push(chunk: Buffer): void {
    if (this.state === "done" && chunk.length > 0) throw new TreeFormatError("there are bytes after the tree's end");
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.step()) {
      // each step consumes what it can
    }
  }

  /** The stream ended: it must have ended exactly at the tree's end. */
  end(): void {
    if (this.state !== "done" || this.buffered.length > 0) throw new TreeFormatError("the tree ended early (or has bytes after its end)");
  }

  private step(): boolean {
    switch (this.state) {
      case "magic": {
        if (this.buffered.length < TREE_MAGIC.length) return false;
        if (this.buffered.subarray(0, TREE_MAGIC.length).toString("latin1") !== TREE_MAGIC) throw new TreeFormatError("not a stubrun tree (bad first line)");
        this.buffered = this.buffered.subarray(TREE_MAGIC.length);
        this.state = "header";
        return true;
      }
      case "header": {
        const newline = this.buffered.indexOf(10);
        if (newline < 0) {
          if (this.buffered.length > 64) throw new TreeFormatError("an entry's header is too long");
          return false;
        }
        const line = this.buffered.subarray(0, newline + 1).toString("latin1");
        this.buffered = this.buffered.subarray(newline + 1);
        if (line === TREE_END) {
          this.state = "done";
          if (this.buffered.length > 0) throw new TreeFormatError("there are bytes after the tree's end");
          return false;
        }
        const match = /^([fxl]) (\d{1,15}) (\d{1,4})\n$/.exec(line);
        if (!match) throw new TreeFormatError(`bad entry header ${JSON.stringify(line)}`);
        const size = Number(match[2]);
        const pathLength = Number(match[3]);
        if (++this.entries > this.limits.maxEntries) throw new TreeFormatError(`the tree has more than ${this.limits.maxEntries} entries`);
        if (size > this.limits.maxEntryBytes) throw new TreeFormatError(`an entry of ${size} bytes is over the limit of ${this.limits.maxEntryBytes}`);
        if (pathLength === 0 || pathLength > 4096) throw new TreeFormatError("an entry's path is empty or too long");
        this.pending = { kind: match[1] as TreeEntryKind, size, pathLength };
        this.state = "path";
        return true;
      }
      case "path": {
        const pending = this.pending!;
        if (this.buffered.length < pending.pathLength) return false;
        const raw = this.buffered.subarray(0, pending.pathLength);
        this.buffered = this.buffered.subarray(pending.pathLength);
        const path = raw.toString("utf8");
        if (!Buffer.from(path).equals(raw) || !isSafeRelativePath(path)) throw new TreeFormatError(`entry path ${JSON.stringify(path)} must be relative and stay inside the tree`);
        if (this.lastPath && Buffer.compare(this.lastPath, raw) >= 0) throw new TreeFormatError(`entry ${JSON.stringify(path)} is out of order (paths are sorted, each once)`);
        this.lastPath = Buffer.from(raw);
        const parts = path.split("/");
        for (let i = 1; i < parts.length; i++) {
          if (this.links.has(parts.slice(0, i).join("/"))) throw new TreeFormatError(`entry ${JSON.stringify(path)} is inside a link`);
        }
        if (pending.kind === "l") this.links.add(path);
        this.sink.entry(pending.kind, path, pending.size);
        this.remaining = pending.size;
        this.link = [];
        this.state = "content";
        return true;
      }
      case "content": {
        if (this.remaining > 0) {
          if (this.buffered.length === 0) return false;
          const piece = this.buffered.subarray(0, Math.min(this.remaining, this.buffered.length));
          this.buffered = this.buffered.subarray(piece.length);
          this.remaining -= piece.length;
          if (this.pending!.kind === "l") this.link.push(piece);
          else this.sink.data(piece);
          if (this.remaining > 0) return false;
        }
        if (this.pending!.kind === "l") {
          const target = Buffer.concat(this.link).toString("utf8");
          if (!isLinkInside(this.lastPath!.toString("utf8"), target)) throw new TreeFormatError(`the link ${this.lastPath!.toString("utf8")} -> ${target} leaves the tree`);
          this.sink.data(Buffer.from(target));
        }
        this.sink.entryEnd();
        this.state = "header";
        return true;
      }
      case "done":
        return false;
    }
  }
}

/**
 * A link's target is relative and only goes down from the link's folder (no ".."): with no entry
 * inside a link either (see TreeReader), no chain of links can lead out of the tree.
 */
export function isLinkInside(_linkPath: string, target: string): boolean {
  if (target === "" || target.startsWith("/") || target.includes("\\") || target.includes("\0")) return false;
  return target.split("/").every((part) => part !== "..");
}
