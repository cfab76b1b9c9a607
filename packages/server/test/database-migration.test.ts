import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase } from "../src/state/database";
import { SecretsRepository } from "../src/state/secrets.repository";
import { AppsRepository } from "../src/state/apps.repository";

/** A state.db written before environments opens with nothing lost: what it had is in "main". */
test("an older database gains environments in place: its apps and secrets are in main", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-migrate-"));
  try {
    const old = new Database(path.join(home, "state.db"));
    old.exec(`CREATE TABLE apps (id TEXT PRIMARY KEY, name TEXT, state TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, stopped_at INTEGER, manifest TEXT NOT NULL, code_dir TEXT NOT NULL);
      CREATE TABLE secrets (name TEXT PRIMARY KEY, data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      INSERT INTO apps VALUES ('ap-0000000001', 'old-app', 'deployed', 3, 1, NULL, '{"entry":"main.js","projectRoot":"/p","functions":[]}', '/h/code/x');
      INSERT INTO secrets VALUES ('api', '{"KEY":"v"}', 1, 2);`);
    old.close();

    const db = openDatabase(home);
    const apps = new AppsRepository(db);
    expect(apps.findDeployed("old-app")).toMatchObject({ id: "ap-0000000001", env: "main", version: 3 });
    expect(apps.findDeployed("old-app", "prod")).toBeUndefined();
    const secrets = new SecretsRepository(db);
    expect(secrets.envOf([{ kind: "name", name: "api" }])).toEqual({ KEY: "v" });
    // The same name in another environment is another secret now.
    secrets.put("api", { KEY: "prod" }, false, "prod");
    expect(secrets.envOf([{ kind: "name", name: "api" }], "prod")).toEqual({ KEY: "prod" });
    db.close();
    // Opening it again changes nothing more.
    const again = openDatabase(home);
    expect(new SecretsRepository(again).list().map((s) => s.name)).toEqual(["api"]);
    again.close();
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
