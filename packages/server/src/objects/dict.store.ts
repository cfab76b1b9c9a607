import { RequestRefusedError, type DictOp, type DictReply, type Encoded } from "@stubrun/protocol";
import type { StateDatabase } from "../state/database";
import type { ObjectRow } from "./object-registry";

/**
 * The entries of every Dict (`dict_entries`). A key is stored as the JSON of its encoded form,
 * so keys compare by value for strings, numbers and the like. Each entry has a version that
 * grows at each put: `put` with `ifVersion` is a compare-and-set, which the SDK's atomic
 * `update` loops on. SQLite runs one statement at a time, so each op is atomic.
 */
export class DictStore {
  constructor(
    private readonly db: StateDatabase,
    private readonly maxEntries: number,
  ) {}

  apply(dict: ObjectRow, op: DictOp): DictReply {
    switch (op.op) {
      case "get": {
        const row = this.entry(dict.id, op.key);
        return row ? { found: true, value: JSON.parse(row.value) as Encoded, version: row.version } : { found: false };
      }
      case "contains":
        return { found: this.entry(dict.id, op.key) !== undefined };
      case "put":
        return this.put(dict, op.key, op.value, op.ifVersion);
      case "delete":
        return { deleted: this.db.prepare("DELETE FROM dict_entries WHERE dict = ? AND key = ?").run(dict.id, keyText(op.key)).changes > 0 };
      case "len":
        return { len: this.len(dict.id) };
      case "keys":
        return { keys: this.rows(dict.id).map((r) => JSON.parse(r.key) as Encoded) };
      case "items":
        return { items: this.rows(dict.id).map((r) => [JSON.parse(r.key) as Encoded, JSON.parse(r.value) as Encoded]) };
      case "clear":
        return { cleared: this.clear(dict.id) };
    }
  }

  len(dictId: string): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM dict_entries WHERE dict = ?").get(dictId) as { n: number }).n;
  }

  clear(dictId: string): number {
    return this.db.prepare("DELETE FROM dict_entries WHERE dict = ?").run(dictId).changes;
  }

  private put(dict: ObjectRow, key: Encoded, value: Encoded, ifVersion: number | undefined): DictReply {
    return this.db.transaction((): DictReply => {
      const current = this.entry(dict.id, key);
      if (ifVersion !== undefined && (current?.version ?? 0) !== ifVersion) return { ok: false, version: current?.version ?? 0 };
      if (!current && this.len(dict.id) >= this.maxEntries) {
        throw new RequestRefusedError(`Dict "${dict.name}" holds ${this.maxEntries} entries, the server's limit (maxDictEntries): delete some, or raise the limit in the server's config.json`);
      }
      const version = (current?.version ?? 0) + 1;
      this.db
        .prepare("INSERT INTO dict_entries (dict, key, value, version) VALUES (?, ?, ?, ?) ON CONFLICT(dict, key) DO UPDATE SET value = excluded.value, version = excluded.version")
        .run(dict.id, keyText(key), JSON.stringify(value), version);
      return { ok: true, version };
    })();
  }

  private entry(dictId: string, key: Encoded): { value: string; version: number } | undefined {
    return this.db.prepare("SELECT value, version FROM dict_entries WHERE dict = ? AND key = ?").get(dictId, keyText(key)) as { value: string; version: number } | undefined;
  }

  private rows(dictId: string): { key: string; value: string }[] {
    return this.db.prepare("SELECT key, value FROM dict_entries WHERE dict = ? ORDER BY rowid").all(dictId) as { key: string; value: string }[];
  }
}

function keyText(key: Encoded): string {
  return JSON.stringify(key);
}
