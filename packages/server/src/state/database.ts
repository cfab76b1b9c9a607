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
  code_dir    TEXT NOT NULL
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
  error       TEXT
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
`;

export function openDatabase(home: string): StateDatabase {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const db = new Database(path.join(home, "state.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);
  return db;
}
