import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";

/** What the state database of a home holds, and what is wrong with it. */
export interface StoredState {
  deployedApps: { id: string; name: string; version: number }[];
  versions: number;
  schedules: number;
  /** Calls created before `before` still `running`. */
  runningBefore: number;
  problems: string[];
}

/**
 * Reads `$STUBRUN_HOME/state.db` (read-only; the server may be running, the database is in WAL
 * mode) and checks what a restart must have kept: every deployed app's versions run 1..N with
 * N its current version, each version's code directory exists and holds its entry file, and the
 * app's current code is its latest version's.
 */
export function checkStoredState(home: string, before = 0): StoredState {
  const db = new Database(path.join(home, "state.db"), { readonly: true, fileMustExist: true });
  try {
    const problems: string[] = [];
    const apps = db.prepare("SELECT id, name, version, code_dir, manifest FROM apps WHERE state = 'deployed'").all() as {
      id: string;
      name: string;
      version: number;
      code_dir: string;
      manifest: string;
    }[];
    let versions = 0;
    let schedules = 0;
    for (const app of apps) {
      const rows = db.prepare("SELECT version, code_dir, manifest FROM app_versions WHERE app_id = ? ORDER BY version").all(app.id) as {
        version: number;
        code_dir: string;
        manifest: string;
      }[];
      versions += rows.length;
      const numbers = rows.map((r) => r.version);
      const contiguous = numbers.every((v, i) => v === i + 1);
      if (!contiguous) problems.push(`${app.name}: versions are not 1..N: ${numbers.join(",")}`);
      if (numbers[numbers.length - 1] !== app.version) problems.push(`${app.name}: current version ${app.version} but latest stored version ${numbers[numbers.length - 1]}`);
      for (const row of rows) {
        const entry = (JSON.parse(row.manifest) as { entry: string }).entry;
        if (!fs.existsSync(path.join(row.code_dir, entry))) problems.push(`${app.name} version ${row.version}: code ${row.code_dir} has no ${entry}`);
      }
      const current = rows.find((r) => r.version === app.version);
      if (current && current.code_dir !== app.code_dir) problems.push(`${app.name}: runs ${app.code_dir}, but version ${app.version} is ${current.code_dir}`);
      const manifest = JSON.parse(app.manifest) as { functions: { options: { schedule?: unknown } }[] };
      schedules += manifest.functions.filter((f) => f.options.schedule).length;
    }
    const runningBefore = (db.prepare("SELECT COUNT(*) AS n FROM calls WHERE state = 'running' AND created_at < ?").get(before) as { n: number }).n;
    return { deployedApps: apps.map((a) => ({ id: a.id, name: a.name, version: a.version })), versions, schedules, runningBefore, problems };
  } finally {
    db.close();
  }
}

/** The recorded calls of one function, by id. */
export function recordedCalls(home: string, functionName: string): Map<string, { state: string; attempts: number; error: string | null }> {
  const db = new Database(path.join(home, "state.db"), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT id, state, attempts, error FROM calls WHERE function = ?").all(functionName) as {
      id: string;
      state: string;
      attempts: number;
      error: string | null;
    }[];
    const byId = new Map<string, { state: string; attempts: number; error: string | null }>();
    for (const r of rows) byId.set(r.id, { state: r.state, attempts: r.attempts, error: r.error });
    return byId;
  } finally {
    db.close();
  }
}
