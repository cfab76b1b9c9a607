import { BLOB_HASH_PATTERN, TreeFolderWriter, TreeFormatError, TreeReader, type TreeLimits } from "@stubrun/protocol";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** A blob that could not be stored: the message says why (bad format, a limit, a hash that does not match). */
export class BlobRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BlobRefusedError";
  }
}

export interface BlobLimits extends TreeLimits {
  /** The largest tree, in bytes as sent. */
  maxBlobBytes: number;
}

/**
 * Folders kept by content hash under `$STUBRUN_HOME/blobs/<hash>/`: the npm packages apps import
 * and the files images add. A blob is written once, checked against its hash while it arrives,
 * and never changes; code folders link to its files.
 */
export class BlobStore {
  /** Uploads of a hash in progress: a second upload of the same blob waits for the first. */
  private readonly receiving = new Map<string, Promise<void>>();

  constructor(private readonly root: string) {}

  has(hash: string): boolean {
    return BLOB_HASH_PATTERN.test(hash) && fs.existsSync(this.dir(hash));
  }

  /** The blob's folder (it exists once `has` says so). */
  dir(hash: string): string {
    return path.join(this.root, hash);
  }

  /** The hashes of `hashes` that are not stored. */
  missing(hashes: string[]): string[] {
    return [...new Set(hashes)].filter((hash) => !this.has(hash));
  }

  /**
   * Stores a tree sent as a stream; resolves once it is stored (at once when it already was).
   * Throws BlobRefusedError for a bad tree, one over a limit, or one whose bytes do not hash to
   * `hash`: nothing of it is kept.
   */
  async receive(hash: string, body: AsyncIterable<Buffer>, limits: BlobLimits): Promise<void> {
    if (!BLOB_HASH_PATTERN.test(hash)) throw new BlobRefusedError(`"${hash}" is not a blob hash (64 lowercase hex digits)`);
    if (this.has(hash)) return drain(body);
    const running = this.receiving.get(hash);
    if (running) {
      await drain(body);
      return running;
    }
    const done = this.write(hash, body, limits).finally(() => this.receiving.delete(hash));
    this.receiving.set(hash, done);
    return done;
  }

    /** Removes staging folders a killed server left behind (call it holding the home's lock). */
  removeLeftoverStaging(): void {
    for (const name of safeReaddir(this.root)) {
      if (/\.tmp-\d+-\d+$/.test(name)) fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
    }
  }

  private async write(hash: string, body: AsyncIterable<Buffer>, limits: BlobLimits): Promise<void> {
    const staging = `${this.dir(hash)}.tmp-${process.pid}-${Date.now()}`;
    fs.mkdirSync(staging, { recursive: true });
    const writer = new TreeFolderWriter(staging);
    const digest = createHash("sha256");
    const reader = new TreeReader(writer, limits);
    let bytes = 0;
    try {
      for await (const chunk of body) {
        bytes += chunk.length;
        if (bytes > limits.maxBlobBytes) throw new BlobRefusedError(`the upload is over the limit of ${limits.maxBlobBytes} bytes (limits.maxBlobBytes)`);
        digest.update(chunk);
        reader.push(chunk);
      }
      reader.end();
      const actual = digest.digest("hex");
      if (actual !== hash) throw new BlobRefusedError(`the upload's content hashes to ${actual}, not ${hash}: it changed on the way, or was not made by stubrun; upload it again`);
      fs.renameSync(staging, this.dir(hash));
    } catch (error) {
      writer.close();
      fs.rmSync(staging, { recursive: true, force: true });
      if (this.has(hash)) return; // stored meanwhile by another upload of the same content
      if (error instanceof TreeFormatError) throw new BlobRefusedError(error.message);
      throw error;
    }
  }
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of body) {
    // read to the end, so the client's request completes
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Removes the blobs no code folder uses and that were stored before `storedBefore` (ms): code
 * folders hard-link a blob's files, so a blob whose every file has one link is used by none.
 * A blob with no file of its own (only links, or empty) is kept, as are those in `keep` (the
 * heads of Volumes). Returns how many went.
 */
export function removeUnusedBlobs(root: string, storedBefore: number, keep: Set<string> = new Set()): number {
  let removed = 0;
  for (const name of safeReaddir(root)) {
    if (!BLOB_HASH_PATTERN.test(name) || keep.has(name)) continue;
    const dir = path.join(root, name);
    try {
      if (fs.statSync(dir).mtimeMs > storedBefore || !hasOnlyUnlinkedFiles(dir)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // gone already, or not readable: try again next sweep
    }
  }
  return removed;
}

/** True when the folder holds files and none of them is linked from elsewhere. */
function hasOnlyUnlinkedFiles(dir: string): boolean {
  let files = 0;
  const walk = (at: string): boolean => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) {
        if (!walk(full)) return false;
      } else if (entry.isFile()) {
        files++;
        if (fs.statSync(full).nlink > 1) return false;
      }
    }
    return true;
  };
  return walk(dir) && files > 0;
}
