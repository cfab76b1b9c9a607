import fs from "node:fs";
import path from "node:path";
import { appById, appList, pidAlive, withTestServer, spawnBin, tempDir, TestServer, waitUntil, writeFixture } from "./harness";

/**
 * SPEC §3 `stubrun app list [--json] | app stop APP | app logs APP [--follow]`, through the real
 * bin against a real server. Each fixture is an app with its own name (so `APP` can be a name);
 * its function records its worker's pid, prints a line per `say-N` file the test creates, and
 * holds until the test creates `release`.
 */

function appFixture(name: string): string {
  return writeFixture(
    `app-commands-${name}.ts`,
    `import { Stub, fn } from "stubrun";
import fs from "node:fs";
import path from "node:path";

const stub = new Stub(${JSON.stringify(name)});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Cmd {
  @stub.enter()
  setUp() {
    console.log("enter hook ran in " + process.pid);
  }

  @stub.function()
  async hold(dir: string): Promise<string> {
    fs.writeFileSync(path.join(dir, "pid"), String(process.pid));
    console.log("hold running");
    for (let i = 1; ; i++) {
      while (!fs.existsSync(path.join(dir, "say-" + i)) && !fs.existsSync(path.join(dir, "release"))) await sleep(50);
      if (!fs.existsSync(path.join(dir, "say-" + i))) break;
      console.log("hold says " + i);
    }
    console.log("hold finished");
    return "held";
  }

  @stub.function()
  other(): void {}

  @stub.localEntrypoint()
  async main(dir: string) {
    console.log(await fn(this.hold).remote(dir));
  }
}
`,
  );
}

function workerPid(dir: string): Promise<number> {
  return waitUntil(() => (fs.existsSync(path.join(dir, "pid")) && Number(fs.readFileSync(path.join(dir, "pid"), "utf8"))) || undefined, {
    what: "the worker to record its pid",
  });
}

describe("app commands", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  /** Starts `stubrun FILE --dir DIR` and waits until its call is running in a worker. */
  async function startHolding(name: string) {
    const dir = tempDir("app-commands");
    const client = spawnBin(server, [appFixture(name), "--dir", dir]);
    const id = await client.appId();
    const pid = await workerPid(dir);
    return { dir, client, id, pid };
  }

  test("app list: a table of id, name, state, version, tasks, created and stopped; --json the same as objects", async () => {
    const before = Date.now();
    const { dir, client, id } = await startHolding("appcmd-list");

    const json = await appById(server, id);
    expect(json).toEqual({
      id,
      name: "appcmd-list",
      env: "main",
      state: "ephemeral",
      version: 1,
      createdAt: expect.any(String),
      stoppedAt: null,
      runningTasks: 1,
      functions: expect.arrayContaining(["Cmd.hold", "Cmd.other"]),
    });
    expect(json.functions).toHaveLength(2);
    expect(json.id).toMatch(/^ap-/);
    const created = Date.parse(json.createdAt);
    expect(created).toBeGreaterThanOrEqual(before - 1000);
    expect(created).toBeLessThanOrEqual(Date.now());

    const table = await server.run(["app", "list"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0].split(/\s{2,}/)).toEqual(["APP ID", "NAME", "STATE", "VERSION", "TASKS", "CREATED", "STOPPED"]);
    const row = lines.find((l) => l.startsWith(id)) as string;
    expect(row).toBeDefined();
    expect(row.split(/\s{2,}/)).toEqual([id, "appcmd-list", "ephemeral", "1", "1", expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), "-"]);

    fs.writeFileSync(path.join(dir, "release"), "");
    expect((await client.exited).code).toBe(0);

    const stopped = await appById(server, id);
    expect(stopped).toMatchObject({ state: "stopped", runningTasks: 0 });
    expect(Date.parse(stopped.stoppedAt as string)).toBeGreaterThanOrEqual(created);
    expect((await server.run(["app", "list"])).stdout).not.toContain(id); // SPEC §3: stopped apps only with --all
    const after = (await server.run(["app", "list", "--all"])).stdout.split("\n").find((l) => l.startsWith(id)) as string;
    expect(after.split(/\s{2,}/)).toEqual([id, "appcmd-list", "stopped", "1", "0", expect.any(String), expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)]);
    // --all lists the apps that run first, then the stopped ones: a stopped app newer than a running one comes after it.
    const states = (await server.run(["app", "list", "--all"])).stdout.trimEnd().split("\n").slice(1).map((l) => l.split(/\s{2,}/)[2]);
    expect(states.indexOf("stopped")).toBeGreaterThan(-1);
    expect(states.slice(states.indexOf("stopped")).every((state) => state === "stopped")).toBe(true);
  });

  test("app list --json lists every app, newest first", async () => {
    const apps = await appList(server);
    expect(Array.isArray(apps)).toBe(true);
    for (const app of apps) {
      expect(Object.keys(app)).toEqual(expect.arrayContaining(["id", "name", "state", "version", "createdAt", "functions", "runningTasks"]));
      expect(["ephemeral", "detached", "deployed", "stopped"]).toContain(app.state);
    }
    const times = apps.map((a) => Date.parse(a.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  test.each([
    ["by name", "appcmd-stop-name", (id: string, name: string) => name],
    ["by id", "appcmd-stop-id", (id: string) => id],
  ])("app stop %s: the running call ends as cancelled (the client exits 1) and the worker is killed", async (_how, name, ref) => {
    const { client, id, pid } = await startHolding(name);
    expect((await appById(server, id)).state).toBe("ephemeral");

    const stop = await server.run(["app", "stop", ref(id, name)]);
    expect(stop.stderr).toContain(`Stopped app ${id} (${name})`);
    expect(stop.code).toBe(0);

    const r = await client.exited;
    expect(r.stderr).toMatch(/cancel/i);
    expect(r.stderr).toContain("the call was cancelled because its app was stopped");
    expect(r.stdout).not.toContain("hold finished");
    expect(r.code).toBe(1);

    expect(await appById(server, id)).toMatchObject({ state: "stopped", runningTasks: 0 });
    expect(pidAlive(pid)).toBe(false);

    const again = await server.run(["app", "stop", id]);
    expect(again.stderr).toContain("already stopped");
    expect(again.code).toBe(0);
  });

  test("app stop / app logs of an unknown app: exit 2 with a clear message", async () => {
    for (const command of ["stop", "logs"]) {
      const r = await server.run(["app", command, "no-such-app"]);
      expect(r.stderr).toMatch(/no app with id or name "no-such-app"/);
      expect(r.stderr).toContain("app list");
      expect(r.stdout).toBe("");
      expect(r.code).toBe(2);
    }
  });

  test("app logs APP: the recent lines, with the enter hook's output and the calls' stdout", async () => {
    const { dir, client, id, pid } = await startHolding("appcmd-logs");
    fs.writeFileSync(path.join(dir, "say-1"), "");
    fs.writeFileSync(path.join(dir, "release"), "");
    expect((await client.exited).code).toBe(0);

    for (const ref of [id, "appcmd-logs"]) {
      const r = await server.run(["app", "logs", ref]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`enter hook ran in ${pid}\nhold running\nhold says 1\nhold finished\n`);
      expect(r.stderr).toContain(`app ${id} created`);
      expect(r.stderr).toContain(`app ${id} stopped`);
    }
    // -n limits it to the most recent lines.
    const last = await server.run(["app", "logs", id, "-n", "1"]);
    expect(last.stdout).toBe("");
    expect(last.stderr.trim()).toBe(`[stubrun] app ${id} stopped`);
  });

  test("app logs APP --follow: the recent lines, then live ones, and it ends when the app stops", async () => {
    const { dir, client, id, pid } = await startHolding("appcmd-follow");
    const follow = spawnBin(server, ["app", "logs", id, "--follow"]);
    await follow.waitFor(/hold running\n/, "stdout");
    expect(follow.stdout).toContain(`enter hook ran in ${pid}\n`);

    fs.writeFileSync(path.join(dir, "say-1"), "");
    await follow.waitFor(/hold says 1\n/, "stdout");
    fs.writeFileSync(path.join(dir, "say-2"), "");
    await follow.waitFor(/hold says 2\n/, "stdout");
    expect(follow.running).toBe(true);

    fs.writeFileSync(path.join(dir, "release"), "");
    expect((await client.exited).code).toBe(0);
    const f = await follow.exited;
    expect(f.code).toBe(0);
    expect(f.stdout).toBe(`enter hook ran in ${pid}\nhold running\nhold says 1\nhold says 2\nhold finished\n`);
    expect(f.stderr).toContain(`app ${id} stopped`);
  });

  test("app logs --follow of an app stopped with app stop ends too", async () => {
    const { id } = await startHolding("appcmd-follow-stop");
    const follow = spawnBin(server, ["app", "logs", "appcmd-follow-stop", "--follow"]);
    await follow.waitFor(/hold running\n/, "stdout");
    expect((await server.run(["app", "stop", id])).code).toBe(0);
    const f = await follow.exited;
    expect(f.code).toBe(0);
    expect(f.stderr).toContain(`app ${id} stopped`);
    // On a stopped app, --follow prints what there is and returns.
    const again = await server.run(["app", "logs", id, "--follow"], { timeoutMs: 15_000 });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("hold running\n");
  });
});
