import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";

/** The server's SQLite database under `$STUBRUN_HOME`, with its schema applied. */
export type StateDatabase = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS apps (
  id          TEXT PRIMARY KEY,
  name        TEXT,
  state       TEXT NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  stopped_at  INTEGER,
  manifest    TEXT NOT NULL,
  code_dir    TEXT NOT NULL,
  env         TEXT NOT NULL DEFAULT 'main'
);
CREATE INDEX IF NOT EXISTS apps_by_name ON apps(name);
CREATE TABLE IF NOT EXISTS calls (
  id          TEXT PRIMARY KEY,
  app_id      TEXT NOT NULL,
  function    TEXT NOT NULL,
  state       TEXT NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  error       TEXT,
  args        TEXT,
  result      TEXT,
  error_json  TEXT
);
CREATE INDEX IF NOT EXISTS calls_by_app ON calls(app_id, created_at);
CREATE TABLE IF NOT EXISTS app_versions (
  app_id      TEXT NOT NULL,
  version     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  manifest    TEXT NOT NULL,
  code_dir    TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  changes     TEXT NOT NULL,
  PRIMARY KEY (app_id, version)
);
CREATE TABLE IF NOT EXISTS objects (
  kind        TEXT NOT NULL,
  id          TEXT NOT NULL,
  env         TEXT NOT NULL,
  name        TEXT NOT NULL,
  app_id      TEXT,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS dict_entries (
  dict        TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,
  version     INTEGER NOT NULL,
  PRIMARY KEY (dict, key)
);
CREATE TABLE IF NOT EXISTS queue_items (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  queue       TEXT NOT NULL,
  partition   TEXT NOT NULL,
  value       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_items_by_queue ON queue_items(queue, partition, seq);
CREATE TABLE IF NOT EXISTS volume_heads (
  volume      TEXT PRIMARY KEY,
  hash        TEXT NOT NULL,
  version     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS secrets (
  env         TEXT NOT NULL DEFAULT 'main',
  name        TEXT NOT NULL,
  data        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (env, name)
);
`;

/**
 * Secrets gained an environment (what an older database had is in "main"), which is part of
 * their key: the table is rebuilt in place, nothing lost.
 */
function rebuildSecretsWithEnv(db: Database.Database): void {
  const columns = (db.prepare("PRAGMA table_info(secrets)").all() as { name: string }[]).map((c) => c.name);
  if (columns.includes("env")) return;
  // A secret's name was its key: the key becomes (env, name), which needs a new table.
  db.transaction(() => {
    db.exec(`ALTER TABLE secrets RENAME TO secrets_before_env;
      CREATE TABLE secrets (env TEXT NOT NULL DEFAULT 'main', name TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (env, name));
      INSERT INTO secrets (env, name, data, created_at, updated_at) SELECT 'main', name, data, created_at, updated_at FROM secrets_before_env;
      DROP TABLE secrets_before_env;`);
  })();
}

export function openDatabase(home: string): StateDatabase {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = path.join(home, "state.db");
  // Secrets live here, and so do the values of Secret.fromObject() in stored manifests: the whole
  // database is the owner's alone (0600), created so before SQLite opens it. SQLite gives its
  // -wal and -shm files the database's mode; they are set again below for files an older server made.
  fs.closeSync(fs.openSync(file, "a", 0o600));
  restrict(file);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);
  // An older database's tables existed, so CREATE TABLE IF NOT EXISTS left them as they were.
  addMissingColumns(db);
  rebuildSecretsWithEnv(db);
  for (const extra of ["-wal", "-shm"]) if (fs.existsSync(file + extra)) restrict(file + extra);
  return db;
}

/** Columns added since the first schema, for databases an older server made. */
const ADDED_COLUMNS: [table: string, column: string, type: string][] = [
  ["apps", "env", "TEXT NOT NULL DEFAULT 'main'"],
  ["calls", "args", "TEXT"],
  ["calls", "result", "TEXT"],
  ["calls", "error_json", "TEXT"],
];

function addMissingColumns(db: StateDatabase): void {
  for (const [table, column, type] of ADDED_COLUMNS) {
    const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
    if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}

function restrict(file: string): void {
  if ((fs.statSync(file).mode & 0o777) !== 0o600) fs.chmodSync(file, 0o600);
}
