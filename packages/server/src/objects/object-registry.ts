import { DEFAULT_ENV, RequestRefusedError, type ObjectRef, type ObjectSummary } from "@stubrun/protocol";
import type { StateDatabase } from "../state/database";

/** The kinds of shared object, as users name them. */
export type ObjectKind = "Dict" | "Queue" | "Volume";

/** An object found or created: its row id (the key of its entries or values). */
export interface ObjectRow {
  id: string;
  env: string;
  name: string;
  appId: string | null;
  createdAt: number;
}

/**
 * The `objects` table: which Dicts, Queues and Volumes exist. A named object's id is "ENV:NAME" (each
 * environment has its own); an ephemeral one's is "APP/NAME", so it can never be confused with
 * a named one and goes with its app (`removeAppObjects`). Names hold neither ":" nor "/".
 */
export class ObjectRegistry {
  constructor(private readonly db: StateDatabase) {}

  /** The object `ref` names, created when it is ephemeral or `create` is set; a refusal that says how otherwise. */
  resolve(kind: ObjectKind, ref: ObjectRef, env: string, now = Date.now()): ObjectRow {
    const id = objectId(ref.name, env, ref.app);
    const found = this.find(kind, id);
    if (found) return found;
    if (ref.app === undefined && ref.create !== true) {
      const where = env === DEFAULT_ENV ? "on this server" : `in environment ${env}`;
      throw new RequestRefusedError(
        `no ${kind} named "${ref.name}" ${where}; create it with ${kind}.fromName(${JSON.stringify(ref.name)}, { createIfMissing: true }) (see them with: npx stubrun ${kind.toLowerCase()} list${env === DEFAULT_ENV ? "" : ` --env ${env}`})`,
      );
    }
    this.db.prepare("INSERT OR IGNORE INTO objects (kind, id, env, name, app_id, created_at) VALUES (?, ?, ?, ?, ?, ?)").run(kind, id, env, ref.name, ref.app ?? null, now);
    return this.find(kind, id) as ObjectRow;
  }

  /** The named object `name` of `env` (or `app`'s ephemeral one), if it exists. */
  get(kind: ObjectKind, name: string, env: string, app?: string): ObjectRow | undefined {
    return this.find(kind, objectId(name, env, app));
  }

  /** The objects of a kind (of one environment, if given), named ones first, by name; `len` counts each one's entries or values. */
  list(kind: ObjectKind, env: string | undefined, len: (row: ObjectRow) => number, extra: (row: ObjectRow) => Partial<ObjectSummary> = () => ({})): ObjectSummary[] {
    const rows = this.db.prepare("SELECT id, env, name, app_id, created_at FROM objects WHERE kind = ? ORDER BY app_id IS NOT NULL, name").all(kind) as Row[];
    return rows.map(toObjectRow).filter((row) => env === undefined || row.env === env).map((row) => ({
      name: row.name,
      env: row.env,
      app: row.appId,
      createdAt: new Date(row.createdAt).toISOString(),
      len: len(row),
      ...extra(row),
    }));
  }

  /** Removes the object's row; its entries or values are the caller's to remove, in the same transaction. */
  remove(kind: ObjectKind, id: string): boolean {
    return this.db.prepare("DELETE FROM objects WHERE kind = ? AND id = ?").run(kind, id).changes > 0;
  }

  /** The ids of an app's ephemeral objects of a kind. */
  ofApp(kind: ObjectKind, appId: string): string[] {
    return (this.db.prepare("SELECT id FROM objects WHERE kind = ? AND app_id = ?").all(kind, appId) as { id: string }[]).map((r) => r.id);
  }

  /** The ids of ephemeral objects whose app is not in `running` (left by a server that stopped). */
  orphans(kind: ObjectKind, running: Set<string>): string[] {
    const rows = this.db.prepare("SELECT id, app_id FROM objects WHERE kind = ? AND app_id IS NOT NULL").all(kind) as { id: string; app_id: string }[];
    return rows.filter((r) => !running.has(r.app_id)).map((r) => r.id);
  }

  private find(kind: ObjectKind, id: string): ObjectRow | undefined {
    const row = this.db.prepare("SELECT id, env, name, app_id, created_at FROM objects WHERE kind = ? AND id = ?").get(kind, id) as Row | undefined;
    return row && toObjectRow(row);
  }
}

interface Row {
  id: string;
  env: string;
  name: string;
  app_id: string | null;
  created_at: number;
}

function toObjectRow(r: Row): ObjectRow {
  return { id: r.id, env: r.env, name: r.name, appId: r.app_id, createdAt: r.created_at };
}

function objectId(name: string, env: string, app: string | undefined): string {
  return app === undefined ? `${env}:${name}` : `${app}/${name}`;
}
