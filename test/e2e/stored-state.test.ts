import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import { callDeployed, runNode, writeCallScript } from "./deploy-helpers";
import { appList, BinProcess, removeTempDirs, TestServer, waitUntil, writeFixture, type AppJson, type RunResult } from "./harness";

/**
 * Issue 7 points 3 and 8: what is stored can never brick the server, and what nothing needs is
 * cleaned up. A stored deployed app the server cannot serve (a damaged row, a cron an older
 * server accepted) is marked failed with why, while every other app is served; calls, logs and
 * code of apps stopped long ago go, deployed apps stay.
 */

function fixture(slug: string, value: string): string {
  return writeFixture(
    `stored-state-${slug}.ts`,
    `import { Stub, fn } from "stubrun";

const stub = new Stub("stored-${slug}");

class Fixture {
  @stub.function()
  which(): string {
    console.error("which ran");
    return ${JSON.stringify(value)};
  }

  @stub.localEntrypoint()
  async main() {
    console.log(await fn(this.which).remote());
  }
}
`,
  );
}

const CALL = writeCallScript("stored-state");

function seen(r: RunResult) {
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** Opens the server's state.db, runs `change`, and closes it (the server must be stopped, or only read). */
function withDatabase<T>(home: string, change: (db: Database.Database) => T): T {
  const db = new Database(path.join(home, "state.db"));
  try {
    return change(db);
  } finally {
    db.close();
  }
}

const byName = (apps: AppJson[], name: string) => apps.find((a) => a.name === name);

afterEach(() => BinProcess.killAll());
afterAll(() => removeTempDirs());

describe("a server starts even if a stored app is bad", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test("the bad apps are marked failed, saying why in app list and their logs; every other app is served; a redeploy fixes one", async () => {
    const file = fixture("good", "good");
    for (const name of ["keeper", "doomed", "cronned"]) expect(seen(await server.run(["deploy", file, "--name", name]))).toMatchObject({ code: 0 });
    await server.stop({ keepHome: true });

    // What an older server (or a bad disk) may have left: a row that is not JSON, a cron that never fires.
    withDatabase(server.home, (db) => {
      db.prepare("UPDATE apps SET manifest = '{not json' WHERE name = 'doomed'").run();
      const row = db.prepare("SELECT manifest FROM apps WHERE name = 'cronned'").get() as { manifest: string };
      const manifest = JSON.parse(row.manifest) as { functions: { options: Record<string, unknown> }[] };
      manifest.functions[0].options.schedule = { kind: "cron", expression: "0 0 30 2 *", timezone: "UTC" };
      db.prepare("UPDATE apps SET manifest = ? WHERE name = 'cronned'").run(JSON.stringify(manifest));
    });

    server = await TestServer.start({ home: server.home });
    const apps = await appList(server);
    expect(byName(apps, "keeper")?.state).toBe("deployed");
    expect(byName(apps, "doomed")).toMatchObject({ state: "failed", failure: expect.stringMatching(/^its stored manifest is not valid JSON/) });
    expect(byName(apps, "cronned")).toMatchObject({ state: "failed", failure: 'function Fixture.which: schedule: cron "0 0 30 2 *" never fires: February has no day 30; fix the expression' });

    // Every other app is served.
    expect(await callDeployed(CALL, server.env, "keeper", "Fixture.which")).toBe("good");
    expect((await server.run(["examples/hello.ts"])).stdout).toBe("Hello world!\n");

    const list = await server.run(["app", "list"]);
    expect(list.stdout).toMatch(/doomed\s+failed/);
    expect(list.stderr).toMatch(/^App ap-\S+ \(doomed\) failed to start: its stored manifest is not valid JSON/m);
    const logs = await server.run(["app", "logs", "cronned"]);
    expect(logs.stderr).toMatch(/\[stubrun\] app cronned \(ap-\S+\) could not start: function Fixture\.which: schedule: cron "0 0 30 2 \*" never fires.*npx stubrun deploy FILE/);

    const lookup = await runNode(CALL, ["cronned", "Fixture.which"], server.env);
    expect({ code: lookup.code, stderr: lookup.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^RequestRefusedError: app cronned \(ap-\S+\) failed to start: function Fixture\.which: schedule/) });

    // Deploying it again serves it again, as a new version; stopping the other one stops it for good.
    const again = await server.run(["deploy", file, "--name", "doomed"]);
    expect(seen(again)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Updated app doomed \(ap-\S+\) to version 2/) });
    expect(await callDeployed(CALL, server.env, "doomed", "Fixture.which")).toBe("good");
    expect(seen(await server.run(["app", "stop", "cronned", "--yes"]))).toMatchObject({ code: 0 });
    const after = await appList(server);
    expect([byName(after, "doomed")?.state, byName(after, "cronned")?.state, byName(after, "keeper")?.state]).toEqual(["deployed", "stopped", "deployed"]);
  });
});

describe("retention: apps stopped more than retentionDays ago go, with their calls, logs and code", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test("at start, an app stopped 8 days ago is removed; one stopped a day ago and a deployed app stay", async () => {
    expect((await server.run([fixture("old", "old")])).stdout).toBe("old\n");
    expect((await server.run([fixture("recent", "recent")])).stdout).toBe("recent\n");
    expect((await server.run(["deploy", fixture("kept", "kept"), "--name", "kept"])).code).toBe(0);
    const apps = await appList(server);
    const old = byName(apps, "stored-old") as AppJson;
    const recent = byName(apps, "stored-recent") as AppJson;
    await server.stop({ keepHome: true });

    const day = 86_400_000;
    const codeDirs = withDatabase(server.home, (db) => {
      db.prepare("UPDATE apps SET stopped_at = ? WHERE id = ?").run(Date.now() - 8 * day, old.id);
      db.prepare("UPDATE apps SET stopped_at = ? WHERE id = ?").run(Date.now() - day, recent.id);
      // The deployed app was created long ago too: age never removes a deployed app.
      db.prepare("UPDATE apps SET created_at = ? WHERE name = 'kept'").run(Date.now() - 30 * day);
      return Object.fromEntries((db.prepare("SELECT name, code_dir FROM apps").all() as { name: string; code_dir: string }[]).map((r) => [r.name, r.code_dir]));
    });
    // Uploads younger than an hour are never removed (one may be on its way to a row).
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    for (const dir of Object.values(codeDirs)) fs.utimesSync(dir, twoHoursAgo, twoHoursAgo);

    server = await TestServer.start({ home: server.home });
    await waitUntil(async () => !byName(await appList(server), "stored-old"), { what: "the app stopped 8 days ago to be removed" });
    await waitUntil(() => !fs.existsSync(codeDirs["stored-old"]), { what: `its code folder ${codeDirs["stored-old"]} to be removed` });
    expect(fs.existsSync(codeDirs["stored-recent"])).toBe(true);
    expect(fs.existsSync(codeDirs.kept)).toBe(true);
    expect(byName(await appList(server), "stored-recent")?.state).toBe("stopped");
    expect(await callDeployed(CALL, server.env, "kept", "Fixture.which")).toBe("kept");

    const rows = withDatabase(server.home, (db) =>
      [old.id, recent.id].map((id) => [
        (db.prepare("SELECT COUNT(*) AS n FROM calls WHERE app_id = ?").get(id) as { n: number }).n,
        (db.prepare("SELECT COUNT(*) AS n FROM logs WHERE app_id = ?").get(id) as { n: number }).n > 0,
      ]),
    );
    expect(rows).toEqual([
      [0, false],
      [1, true],
    ]);
  });
});
