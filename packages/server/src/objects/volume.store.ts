import { RequestRefusedError, type VolumeOp, type VolumeReply } from "@stubrun/protocol";
import type { StateDatabase } from "../state/database";
import type { ObjectRow } from "./object-registry";

/**
 * The heads of every Volume (`volume_heads`): a Volume's content is a tree blob in the blob
 * store, and its head names the last one committed, with a version that grows by one at each
 * commit. A commit replaces the whole head (last writer wins), unless it names the version it
 * started from (`ifVersion`, what the CLI's `put` and `rm` send): then it is a compare-and-set.
 */
export class VolumeStore {
  constructor(
    private readonly db: StateDatabase,
    /** Whether the blob store holds a blob: a head only ever names one it does. */
    private readonly hasBlob: (hash: string) => boolean,
  ) {}

  apply(volume: ObjectRow, op: VolumeOp): VolumeReply {
    if (op.op === "head") return this.head(volume.id);
    if (!this.hasBlob(op.hash)) {
      throw new RequestRefusedError(`Volume "${volume.name}": the server has no blob ${op.hash} to commit; upload it first (PUT /api/blobs/${op.hash})`);
    }
    return this.db.transaction((): VolumeReply => {
      const current = this.head(volume.id);
      if (op.ifVersion !== undefined && op.ifVersion !== current.version) return { ...current, ok: false };
      const version = current.version + 1;
      this.db
        .prepare("INSERT INTO volume_heads (volume, hash, version) VALUES (?, ?, ?) ON CONFLICT(volume) DO UPDATE SET hash = excluded.hash, version = excluded.version")
        .run(volume.id, op.hash, version);
      return { hash: op.hash, version, ok: true };
    })();
  }

  /** The head: null and version 0 before the first commit. */
  head(volumeId: string): VolumeReply {
    const row = this.db.prepare("SELECT hash, version FROM volume_heads WHERE volume = ?").get(volumeId) as { hash: string; version: number } | undefined;
    return row ? { hash: row.hash, version: row.version } : { hash: null, version: 0 };
  }

  remove(volumeId: string): void {
    this.db.prepare("DELETE FROM volume_heads WHERE volume = ?").run(volumeId);
  }

  /** Whether `hash` is some Volume's head (a worker may read those blobs). */
  isHead(hash: string): boolean {
    return this.db.prepare("SELECT 1 FROM volume_heads WHERE hash = ? LIMIT 1").get(hash) !== undefined;
  }
}
