import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AppManifest } from "@stubrun/protocol";
import { AppsRepository, type AppRecord } from "../src/state/apps.repository";
import { CallsRepository } from "../src/state/calls.repository";
import { openDatabase, type StateDatabase } from "../src/state/database";
import { LogsRepository } from "../src/state/logs.repository";
import { Retention } from "../src/state/retention";
import { VersionsRepository } from "../src/state/versions.repository";

/** Issue 7 point 8, "nothing is ever cleaned up": retention, with an injected clock. */

const DAY = 86_400_000;
const NOW = Date.parse("2030-06-15T12:00:00Z");
const manifest: AppManifest = { entry: "main.js", projectRoot: "/tmp", functions: [] };

let home: string;
let db: StateDatabase;
let apps: AppsRepository;
let calls: CallsRepository;
let logs: LogsRepository;
let versions: VersionsRepository;

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-retention-"));
  db = openDatabase(home);
  apps = new AppsRepository(db);
  calls = new CallsRepository(db);
  logs = new LogsRepository(db);
  versions = new VersionsRepository(db);
});
afterEach(() => {
  db.close();
  fs.rmSync(home, { recursive: true, force: true });
});

/** An app with a code folder, `callCount` calls and `logCount` log entries. */
function addApp(id: string, state: AppRecord["state"], stoppedAt: number | null, callCount = 2, logCount = 3): AppRecord {
  const codeDir = path.join(home, "code", `code-of-${id}`);
  fs.mkdirSync(codeDir, { recursive: true });
  const record: AppRecord = { id, name: id, env: "main", state, version: 1, createdAt: NOW - 60 * DAY, stoppedAt, manifest, codeDir };
  apps.insert(record);
  if (state === "deployed" || id.includes("versioned")) {
    versions.insert({ appId: id, version: 1, createdAt: NOW - 60 * DAY, manifest, codeDir, fingerprint: "f", changes: "first deploy" });
  }
  for (let i = 0; i < callCount; i++) {
    calls.started(`${id}-c${i}`, id, "F.f", NOW - 60 * DAY);
    calls.finished(`${id}-c${i}`, "succeeded", NOW - 60 * DAY);
  }
  for (let i = 0; i < logCount; i++) logs.append({ appId: id, callId: null, functionName: null, stream: "stdout", data: `${i}\n` });
  calls.flush();
  logs.flush();
  return record;
}

const count = (table: string, id: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${table === "apps" ? "id" : "app_id"} = ?`).get(id) as { n: number }).n;
const rows = (id: string) => [count("apps", id), count("app_versions", id), count("calls", id), count("logs", id)];

function ageCode(hoursAgo: number): void {
  const then = new Date(Date.now() - hoursAgo * 3_600_000);
  for (const dir of fs.readdirSync(path.join(home, "code"))) fs.utimesSync(path.join(home, "code", dir), then, then);
}

describe("Retention", () => {
  test("removes the calls, logs, versions, row and code of apps stopped over N days ago, and nothing else", async () => {
    addApp("old", "stopped", NOW - 8 * DAY, 2, 5_000); // more log rows than one chunk
    addApp("old-versioned", "stopped", NOW - 30 * DAY);
    addApp("recent", "stopped", NOW - 6 * DAY);
    addApp("deployed", "deployed", null);
    addApp("ephemeral", "ephemeral", null);
    ageCode(2);
    fs.mkdirSync(path.join(home, "code", "orphan"));
    fs.mkdirSync(path.join(home, "code", "fresh-orphan")); // younger than an hour: an upload on its way
    ageCode(2);
    fs.utimesSync(path.join(home, "code", "fresh-orphan"), new Date(), new Date());

    const swept = await new Retention(db, path.join(home, "code"), 7, undefined, () => NOW).sweep();

    expect(swept).toEqual({ apps: 2, calls: 4, logs: 5_003, codeDirs: 3, blobs: 0 });
    expect(rows("old")).toEqual([0, 0, 0, 0]);
    expect(rows("old-versioned")).toEqual([0, 0, 0, 0]);
    expect(rows("recent")).toEqual([1, 0, 2, 3]);
    expect(rows("deployed")).toEqual([1, 1, 2, 3]);
    expect(rows("ephemeral")).toEqual([1, 0, 2, 3]);
    expect(fs.readdirSync(path.join(home, "code")).sort()).toEqual(["code-of-deployed", "code-of-ephemeral", "code-of-recent", "fresh-orphan"]);
  });

  test("a deployed app is never removed, however old, nor its versions or code", async () => {
    addApp("deployed", "deployed", NOW - 400 * DAY); // a stopped_at left from before a redeploy
    ageCode(48);
    const swept = await new Retention(db, path.join(home, "code"), 1, undefined, () => NOW + 1000 * DAY).sweep();
    expect(swept).toEqual({ apps: 0, calls: 0, logs: 0, codeDirs: 0, blobs: 0 });
    expect(rows("deployed")).toEqual([1, 1, 2, 3]);
  });

  test("close() stops a sweep under way at its next step", async () => {
    addApp("old", "stopped", NOW - 8 * DAY, 2, 5_000);
    const retention = new Retention(db, path.join(home, "code"), 7, undefined, () => NOW);
    const sweep = retention.sweep();
    await retention.close();
    const done = await sweep;
    expect(done.apps).toBe(0);
    expect(count("apps", "old")).toBe(1);
  });

  test("a code folder's recipe goes with it; a recipe whose folder never came goes once it is old", async () => {
    const unused = "a".repeat(32);
    const lost = "b".repeat(32);
    fs.mkdirSync(path.join(home, "code", unused), { recursive: true });
    fs.writeFileSync(path.join(home, "code", `${unused}.json`), "{}");
    fs.writeFileSync(path.join(home, "code", `${lost}.json`), "{}");
    const fresh = "c".repeat(32);
    ageCode(2);
    fs.writeFileSync(path.join(home, "code", `${fresh}.json`), "{}"); // an upload on its way
    const swept = await new Retention(db, path.join(home, "code"), 7, undefined, () => NOW).sweep();
    expect(swept.codeDirs).toBe(1);
    expect(fs.readdirSync(path.join(home, "code"))).toEqual([`${fresh}.json`]);
  });

  test("the retention period is the configured one", async () => {
    addApp("stopped", "stopped", NOW - 3 * DAY);
    ageCode(2);
    expect((await new Retention(db, path.join(home, "code"), 7, undefined, () => NOW).sweep()).apps).toBe(0);
    expect((await new Retention(db, path.join(home, "code"), 2, undefined, () => NOW).sweep()).apps).toBe(1);
  });

  test("start() sweeps at once and logs what it removed", async () => {
    addApp("old", "stopped", NOW - 8 * DAY);
    ageCode(2);
    const lines: string[] = [];
    const retention = new Retention(db, path.join(home, "code"), 7, (line) => lines.push(line), () => NOW);
    retention.start();
    for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await retention.close();
    expect(lines).toEqual(["retention: removed 1 app(s) stopped over 7 day(s) ago (2 calls, 3 log entries), 1 unused code folder(s) and 0 unused package or file set(s)"]);
    expect(rows("old")).toEqual([0, 0, 0, 0]);
  });
});

describe("blobs (packages and added files)", () => {
  /** A blob folder with one file, stored `hoursAgo`; linked into a code folder of `app` when given. */
  function addBlob(hash: string, hoursAgo: number, app?: AppRecord): string {
    const dir = path.join(home, "blobs", hash);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "index.js"), "module.exports = 1;\n");
    if (app) {
      fs.mkdirSync(path.join(app.codeDir, "node_modules", hash), { recursive: true });
      fs.linkSync(path.join(dir, "index.js"), path.join(app.codeDir, "node_modules", hash, "index.js"));
    }
    const then = new Date(Date.now() - hoursAgo * 3_600_000);
    fs.utimesSync(dir, then, then);
    return dir;
  }

  test("go once no code folder links them and they are over an hour old; linked and fresh ones stay", async () => {
    const deployed = addApp("deployed-app", "deployed", null);
    const used = addBlob("a".repeat(64), 5, deployed);
    const unused = addBlob("b".repeat(64), 5);
    const fresh = addBlob("c".repeat(64), 0);
    const swept = await new Retention(db, path.join(home, "code"), 7, undefined, () => NOW).sweep();
    expect(swept.blobs).toBe(1);
    expect([fs.existsSync(used), fs.existsSync(unused), fs.existsSync(fresh)]).toEqual([true, false, true]);
  });

  test("a Volume's head stays, though no code folder links it; its earlier versions go", async () => {
    const head = addBlob("d".repeat(64), 5);
    const earlier = addBlob("e".repeat(64), 5);
    db.prepare("INSERT INTO volume_heads (volume, hash, version) VALUES (?, ?, ?)").run("main:models", "d".repeat(64), 2);
    const swept = await new Retention(db, path.join(home, "code"), 7, undefined, () => NOW).sweep();
    expect(swept.blobs).toBe(1);
    expect([fs.existsSync(head), fs.existsSync(earlier)]).toEqual([true, false]);
  });
});
