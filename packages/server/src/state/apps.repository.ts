import { DEFAULT_ENV, type AppManifest } from "@stubrun/protocol";
import type { StateDatabase } from "./database";

export type AppState = "ephemeral" | "detached" | "deployed" | "stopped";

/** An app as stored. */
export interface AppRecord {
  id: string;
  name: string | null;
  /** The environment it lives in: its name is unique among that environment's deployed apps. */
  env: string;
  state: AppState;
  version: number;
  createdAt: number;
  stoppedAt: number | null;
  manifest: AppManifest;
  codeDir: string;
  /** Set when the stored manifest could not be read: why (the manifest is then an empty one). */
  unreadable?: string;
}

interface AppRow {
  id: string;
  name: string | null;
  env: string;
  state: AppState;
  version: number;
  created_at: number;
  stopped_at: number | null;
  manifest: string;
  code_dir: string;
}

/** Reads and writes the `apps` table. */
export class AppsRepository {
  constructor(private readonly db: StateDatabase) {}

  insert(app: AppRecord): void {
    this.db
      .prepare(
        "INSERT INTO apps (id, name, env, state, version, created_at, stopped_at, manifest, code_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(app.id, app.name, app.env, app.state, app.version, app.createdAt, app.stoppedAt, JSON.stringify(app.manifest), app.codeDir);
  }

  /** Points a deployed app at a new version of its code. */
  setVersion(id: string, version: number, manifest: AppManifest, codeDir: string): void {
    this.db.prepare("UPDATE apps SET version = ?, manifest = ?, code_dir = ? WHERE id = ?").run(version, JSON.stringify(manifest), codeDir, id);
  }

  /** The running deployed app of a name in an environment, if any. */
  findDeployed(name: string, env = DEFAULT_ENV): AppRecord | undefined {
    const row = this.db.prepare("SELECT * FROM apps WHERE name = ? AND env = ? AND state = 'deployed' ORDER BY created_at DESC LIMIT 1").get(name, env) as AppRow | undefined;
    return row && toRecord(row);
  }

  /** Deployed apps, to restore when the server starts. */
  listDeployed(): AppRecord[] {
    return (this.db.prepare("SELECT * FROM apps WHERE state = 'deployed' ORDER BY created_at").all() as AppRow[]).map(toRecord);
  }

  markStopped(id: string, at: number): void {
    this.db.prepare("UPDATE apps SET state = 'stopped', stopped_at = ? WHERE id = ? AND state != 'stopped'").run(at, id);
  }

  /** Apps whose clients were lost when the server last stopped: ephemeral and detached apps cannot outlive it. */
  stopOrphans(at: number): number {
    return this.db.prepare("UPDATE apps SET state = 'stopped', stopped_at = ? WHERE state IN ('ephemeral', 'detached')").run(at).changes;
  }

  get(id: string): AppRecord | undefined {
    const row = this.db.prepare("SELECT * FROM apps WHERE id = ?").get(id) as AppRow | undefined;
    return row && toRecord(row);
  }

  /** The newest app of a name in an environment, whatever its state. */
  newestNamed(name: string, env = DEFAULT_ENV): AppRecord | undefined {
    const row = this.db.prepare("SELECT * FROM apps WHERE name = ? AND env = ? ORDER BY created_at DESC, rowid DESC LIMIT 1").get(name, env) as AppRow | undefined;
    return row && toRecord(row);
  }

  list(): AppRecord[] {
    return (this.db.prepare("SELECT * FROM apps ORDER BY created_at DESC, rowid DESC").all() as AppRow[]).map(toRecord);
  }
}

function toRecord(row: AppRow): AppRecord {
  const record: AppRecord = {
    id: row.id,
    name: row.name,
    env: row.env,
    state: row.state,
    version: row.version,
    createdAt: row.created_at,
    stoppedAt: row.stopped_at,
    manifest: EMPTY_MANIFEST,
    codeDir: row.code_dir,
  };
  // One damaged row must not take the app list, or the server's start, down with it.
  const manifest = readStoredManifest(row.manifest);
  if (typeof manifest === "string") record.unreadable = manifest;
  else record.manifest = manifest;
  return record;
}

/** What a record holds when its stored manifest cannot be read: no functions. */
const EMPTY_MANIFEST: AppManifest = Object.freeze({ entry: "", projectRoot: "", functions: [] }) as AppManifest;

/** A stored manifest, or why it cannot be read. Its contents are checked by whoever serves it. */
export function readStoredManifest(text: string): AppManifest | string {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    return `its stored manifest is not valid JSON (${(error as Error).message})`;
  }
  const functions = (manifest as { functions?: unknown } | null)?.functions;
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest) || !Array.isArray(functions)) {
    return "its stored manifest is not a manifest (no functions array)";
  }
  return manifest as AppManifest;
}
