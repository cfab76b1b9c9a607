import type { AppManifest } from "@stubrun/protocol";
import { readStoredManifest } from "./apps.repository";
import type { StateDatabase } from "./database";

/** One version of a deployed app: its manifest and code, kept for history, rollback and pinned lookups. */
export interface VersionRecord {
  appId: string;
  version: number;
  createdAt: number;
  manifest: AppManifest;
  codeDir: string;
  /** Identifies the code and manifest: equal fingerprints mean nothing changed. */
  fingerprint: string;
  /** What changed from the version before, in words. */
  changes: string;
}

interface VersionRow {
  app_id: string;
  version: number;
  created_at: number;
  manifest: string;
  code_dir: string;
  fingerprint: string;
  changes: string;
}

/** Reads and writes the `app_versions` table. */
export class VersionsRepository {
  constructor(private readonly db: StateDatabase) {}

  insert(v: VersionRecord): void {
    this.db
      .prepare("INSERT INTO app_versions (app_id, version, created_at, manifest, code_dir, fingerprint, changes) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(v.appId, v.version, v.createdAt, JSON.stringify(v.manifest), v.codeDir, v.fingerprint, v.changes);
  }

  get(appId: string, version: number): VersionRecord | undefined {
    const row = this.db.prepare("SELECT * FROM app_versions WHERE app_id = ? AND version = ?").get(appId, version) as VersionRow | undefined;
    return row && toRecord(row);
  }

  /** Every version of an app, oldest first. */
  list(appId: string): VersionRecord[] {
    return (this.db.prepare("SELECT * FROM app_versions WHERE app_id = ? ORDER BY version").all(appId) as VersionRow[]).map(toRecord);
  }
}

function toRecord(row: VersionRow): VersionRecord {
  return {
    appId: row.app_id,
    version: row.version,
    createdAt: row.created_at,
    manifest: storedManifest(row.manifest),
    codeDir: row.code_dir,
    fingerprint: row.fingerprint,
    changes: row.changes,
  };
}

/** A damaged row reads as a manifest with no functions: history still lists it, and nothing can call it. */
function storedManifest(text: string): AppManifest {
  const manifest = readStoredManifest(text);
  return typeof manifest === "string" ? { entry: "", projectRoot: "", functions: [] } : manifest;
}
