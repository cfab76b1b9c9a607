import fs from "node:fs";
import path from "node:path";
import { TreeReader, type TreeEntryKind, type TreeLimits, type TreeSink } from "./tree-format";

/**
 * Writes a tree's entries under a folder as a TreeReader finds them (the reader has checked each
 * path stays inside). Files are created, never overwritten: the folder starts empty.
 */
export class TreeFolderWriter implements TreeSink {
  private fd: number | undefined;
  private current: { kind: TreeEntryKind; file: string; link: Buffer[] } | undefined;

  constructor(private readonly root: string) {}

  entry(kind: TreeEntryKind, relative: string, _size: number): void {
    const file = path.join(this.root, ...relative.split("/"));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.current = { kind, file, link: [] };
    if (kind !== "l") this.fd = fs.openSync(file, "wx", kind === "x" ? 0o755 : 0o644);
  }

  data(chunk: Buffer): void {
    if (this.current?.kind === "l") this.current.link.push(Buffer.from(chunk));
    else if (this.fd !== undefined) fs.writeSync(this.fd, chunk);
  }

  entryEnd(): void {
    if (this.current?.kind === "l") fs.symlinkSync(Buffer.concat(this.current.link).toString("utf8"), this.current.file);
    this.close();
    this.current = undefined;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Writes the tree read from `body` into the empty folder `dir` (a Volume's reload, `stubrun volume get`). */
export async function unpackTree(body: AsyncIterable<Uint8Array>, dir: string, limits: TreeLimits): Promise<void> {
  const writer = new TreeFolderWriter(dir);
  const reader = new TreeReader(writer, limits);
  try {
    for await (const chunk of body) reader.push(Buffer.from(chunk));
    reader.end();
  } finally {
    writer.close();
  }
}

/** Empties a folder, keeping the folder itself (a mount point cannot be removed). */
export function emptyFolder(dir: string): void {
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}
