import fs from "node:fs";
import path from "node:path";
import { callDeployed, NodeProcess, writeCallScript } from "./deploy-helpers";
import { appList, BinProcess, removeTempDirs, ROOT, tempDir, TestServer, waitUntil, writeFixture, type AppJson, type RunResult } from "./harness";

/**
 * SPEC §3 "Deploy" and issue 4 points 1-2, through the real bin against a real server:
 * `stubrun deploy FILE [--name NAME]` creates a named app or updates it in place as its next
 * version; `app history` and `app rollback` show and restore versions; a call already running
 * finishes on its old code while new calls run the new. Each fixture's `which()` returns a
 * different value per version, so which code ran is visible from outside.
 */

/** A deployable file: `Deployed.which()` returns `value`; `Deployed.greet` is a GET web endpoint. */
function deploySource(stubName: string | undefined, value: string, extra = ""): string {
  return `import { Stub, fn } from "stubrun";

const stub = new Stub(${stubName === undefined ? "" : JSON.stringify(stubName)});

class Deployed {
  @stub.function()
  which(): string {
    return ${JSON.stringify(value)};
  }

  @stub.webEndpoint({ method: "GET" })
  greet(who = "world"): string {
    return "hello " + who + " from " + ${JSON.stringify(value)};
  }
${extra}}
`;
}

const CALL = writeCallScript("deploy");

/** A run's exit code and output, so a failed expectation shows what the user saw. */
function seen(r: RunResult) {
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

function expectExit(r: RunResult, code: number): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code} (signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

describe("stubrun deploy", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterEach(async () => {
    await NodeProcess.killAll();
    await BinProcess.killAll();
  });
  afterAll(async () => {
    await server.stop();
    removeTempDirs();
  });

  const call = (app: string, name: string, options: { version?: number } = {}, args: unknown[] = []) => callDeployed(CALL, server.env, app, name, options, args);
  const deployed = async (name: string): Promise<AppJson[]> => (await appList(server)).filter((a) => a.name === name);
  /** Every app's id, name, state and version (not its running tasks, which change as idle workers go). */
  const apps = async () => (await appList(server)).map(({ id, name, state, version }) => ({ id, name, state, version }));

  describe("names", () => {
    test("a Stub without a name and no --name: exit 2, saying how to give one; nothing is deployed", async () => {
      const file = writeFixture("deploy-unnamed.ts", deploySource(undefined, "unnamed"));
      const before = await apps();
      const r = await server.run(["deploy", file]);
      expectExit(r, 2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain('new Stub("');
      expect(r.stderr).toContain("--name");
      expect(r.stderr).not.toMatch(/\n\s+at /); // a usage error, not a stack trace
      expect(await apps()).toEqual(before);

      // ...and --name is enough to deploy it.
      const named = await server.run(["deploy", file, "--name", "deploy-given-name"]);
      expectExit(named, 0);
      expect(named.stdout).toMatch(/^Created app deploy-given-name \(ap-\S+\), version 1\n/);
      expect(await call("deploy-given-name", "Deployed.which")).toBe("unnamed");
    });

    test.each([
      ["with a space and a !", "bad name!"],
      ["of 65 characters", "a".repeat(65)],
      ["with a slash", "team/app"],
    ])("a bad --name (%s): exit 2 naming it and the rules; nothing is deployed", async (_what, name) => {
      const file = writeFixture("deploy-badname.ts", deploySource("deploy-badname-stub", "x"));
      const before = await apps();
      const r = await server.run(["deploy", file, "--name", name]);
      expectExit(r, 2);
      expect(r.stderr).toContain(name);
      expect(r.stderr).toMatch(/letters, digits/);
      expect(r.stderr).toContain("64");
      expect(await apps()).toEqual(before);
    });

    test("a bad name given to new Stub(): exit 2 too", async () => {
      const file = writeFixture("deploy-badstub.ts", deploySource("bad stub name!", "x"));
      const r = await server.run(["deploy", file]);
      expectExit(r, 2);
      expect(r.stderr).toContain("bad stub name!");
      expect((await appList(server)).some((a) => a.name === "bad stub name!")).toBe(false);
    });

    test("a file that does not exist: exit 2 naming it", async () => {
      const r = await server.run(["deploy", "test/e2e/.fixtures/deploy-missing-file.ts", "--name", "deploy-missing-file"]);
      expectExit(r, 2);
      expect(r.stderr).toContain("deploy-missing-file.ts");
      expect(await deployed("deploy-missing-file")).toEqual([]);
    });

    test("a name of exactly 64 characters, with every allowed kind of character, deploys", async () => {
      const name = `Ab9-_.${"x".repeat(58)}`;
      expect(name).toHaveLength(64);
      const file = writeFixture("deploy-longname.ts", deploySource(undefined, "long"));
      const r = await server.run(["deploy", file, "--name", name]);
      expectExit(r, 0);
      expect(r.stdout).toContain(`Created app ${name} (ap-`);
      expect(await call(name, "Deployed.which")).toBe("long");
    });

    test("--name overrides the Stub's name", async () => {
      const file = writeFixture("deploy-override.ts", deploySource("deploy-stub-own-name", "override"));
      const r = await server.run(["deploy", file, "--name", "deploy-overridden"]);
      expectExit(r, 0);
      expect(r.stdout).toMatch(/^Created app deploy-overridden \(ap-\S+\), version 1\n/);
      expect(r.stdout).toContain(`/web/deploy-overridden/Deployed.greet`);
      expect(r.stdout).not.toContain("deploy-stub-own-name");
      expect(await deployed("deploy-stub-own-name")).toEqual([]);
      expect(await deployed("deploy-overridden")).toEqual([expect.objectContaining({ state: "deployed", version: 1 })]);
      expect(await call("deploy-overridden", "Deployed.which")).toBe("override");
    });
  });

  test("first deploy, a redeploy with no change, a redeploy with a change: same app, versions 1 then 2", async () => {
    const name = "deploy-lifecycle";
    const file = writeFixture("deploy-lifecycle.ts", deploySource(name, "one"));

    // First deploy: created, version 1, its functions and web endpoint URL listed.
    const first = await server.run(["deploy", file]);
    expectExit(first, 0);
    const created = /^Created app deploy-lifecycle \((ap-\S+)\), version 1\n/.exec(first.stdout);
    expect(created).not.toBeNull();
    const id = (created as RegExpExecArray)[1];
    const lines = first.stdout.trimEnd().split("\n").slice(1).map((l) => l.trim());
    expect(lines).toEqual(expect.arrayContaining(["Deployed.which", `Deployed.greet  GET ${server.url}/web/${name}/Deployed.greet`]));
    expect(lines).toHaveLength(2);

    // The listed URL really serves the endpoint.
    const web = await fetch(`${server.url}/web/${name}/Deployed.greet?who=deployer`);
    expect(web.status).toBe(200);
    expect(await web.json()).toBe("hello deployer from one");

    expect(await deployed(name)).toEqual([
      expect.objectContaining({ id, name, state: "deployed", version: 1, stoppedAt: null, functions: expect.arrayContaining(["Deployed.which", "Deployed.greet"]) }),
    ]);
    expect(await call(name, "Deployed.which")).toBe("one");

    // The same file again: nothing changed, so the version stays, and the output says so.
    fs.writeFileSync(path.join(ROOT, file), deploySource(name, "one")); // rewritten, same content
    const same = await server.run(["deploy", file]);
    expectExit(same, 0);
    expect(same.stdout.split("\n")[0]).toMatch(/unchanged/i);
    expect(same.stdout.split("\n")[0]).toContain(id);
    expect(same.stdout.split("\n")[0]).toMatch(/version 1\b/);
    expect(same.stdout).toContain("Deployed.which");
    expect(await deployed(name)).toEqual([expect.objectContaining({ id, state: "deployed", version: 1 })]);
    const history1 = await server.run(["app", "history", name]);
    expectExit(history1, 0);
    expect(history1.stdout.trimEnd().split("\n")).toHaveLength(2); // header + version 1

    // Edited: a new return value and a new function. Same app id, version 2, and what changed.
    fs.writeFileSync(
      path.join(ROOT, file),
      deploySource(
        name,
        "two",
        `
  @stub.function()
  extra(): string {
    return "extra";
  }
`,
      ),
    );
    const second = await server.run(["deploy", file]);
    expectExit(second, 0);
    const head = second.stdout.split("\n")[0];
    expect(head).toContain(id);
    expect(head).toMatch(/version 2\b/);
    expect(head).toMatch(/added Deployed\.extra/);
    expect(head).toMatch(/code changed/);
    expect(second.stdout).toContain("Deployed.extra");
    expect(second.stdout).toContain(`GET ${server.url}/web/${name}/Deployed.greet`);

    const apps = await deployed(name);
    expect(apps).toEqual([expect.objectContaining({ id, state: "deployed", version: 2, functions: expect.arrayContaining(["Deployed.which", "Deployed.greet", "Deployed.extra"]) })]);
    expect(await call(name, "Deployed.which")).toBe("two");
    expect(await call(name, "Deployed.extra")).toBe("extra");
    expect(await (await fetch(`${server.url}/web/${name}/Deployed.greet`)).json()).toBe("hello world from two");
  });

  test("a scheduled function that takes arguments: exit 2 naming it and its parameters; nothing is deployed", async () => {
    const file = writeFixture(
      "deploy-schedule-args.ts",
      `import { Stub, Cron, Period } from "stubrun";

const stub = new Stub("deploy-schedule-args");

class Scheduled {
  @stub.function({ schedule: new Cron("0 * * * *") })
  fine(): void {}

  @stub.function({ schedule: new Period({ minutes: 5 }) })
  tick(count: number, label = "x"): void {
    console.log(count, label);
  }
}
`,
    );
    const r = await server.run(["deploy", file]);
    expectExit(r, 2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Scheduled.tick");
    expect(r.stderr).toMatch(/schedule/);
    expect(r.stderr).toMatch(/no arguments/);
    expect(r.stderr).toContain("count");
    expect(r.stderr).not.toContain("Scheduled.fine");
    expect(await deployed("deploy-schedule-args")).toEqual([]);
  });

  describe("versions", () => {
    const name = "deploy-versions";
    const file = writeFixture("deploy-versions.ts", deploySource(name, "one"));
    const deployValue = async (value: string) => {
      fs.writeFileSync(path.join(ROOT, file), deploySource(name, value));
      const r = await server.run(["deploy", file]);
      expectExit(r, 0);
      return r;
    };
    const history = async (ref = name) => {
      const r = await server.run(["app", "history", ref]);
      expectExit(r, 0);
      const [header, ...rows] = r.stdout.trimEnd().split("\n");
      return { header: header.split(/\s{2,}/), rows: rows.map((row) => row.split(/\s{2,}/)) };
    };
    let id: string;

    test("app history: version, time and what changed for each version, the current one marked", async () => {
      const before = Date.now();
      const first = await deployValue("one");
      id = (/\((ap-\S+)\), version 1/.exec(first.stdout) as RegExpExecArray)[1];
      await deployValue("two");
      await deployValue("three");

      const { header, rows } = await history();
      expect(header).toEqual(["VERSION", "DEPLOYED", "CHANGES"]);
      const time = expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(rows).toEqual([
        ["1", time, "first deploy"],
        ["2", time, expect.stringMatching(/code changed/)],
        ["3 *", time, expect.stringMatching(/code changed/)],
      ]);
      // The times are local wall-clock times of the deploys, in order.
      const when = rows.map((r) => new Date(r[1].replace(" ", "T")).getTime());
      expect(when[0]).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
      expect(when[2]).toBeLessThanOrEqual(Date.now());
      expect(when[0]).toBeLessThanOrEqual(when[1]);
      expect(when[1]).toBeLessThanOrEqual(when[2]);

      // By app id too.
      expect((await history(id)).rows).toEqual(rows);
      expect(await call(name, "Deployed.which")).toBe("three");
    });

    test("app rollback APP: the previous version's code runs again, as a new version", async () => {
      const r = await server.run(["app", "rollback", name]);
      expectExit(r, 0);
      expect(r.stdout + r.stderr).toMatch(/version 4\b/);
      expect(r.stdout + r.stderr).toContain(id);
      expect(await call(name, "Deployed.which")).toBe("two");
      expect(await (await fetch(`${server.url}/web/${name}/Deployed.greet`)).json()).toBe("hello world from two");

      const { rows } = await history();
      expect(rows.map((row) => row[0])).toEqual(["1", "2", "3", "4 *"]);
      expect(rows[3][2]).toMatch(/rollback to version 2/);
      expect(await appList(server)).toContainEqual(expect.objectContaining({ id, state: "deployed", version: 4 }));
    });

    test("app rollback APP 1: version 1's code runs again, as version 5; pinned lookups still reach each version", async () => {
      const r = await server.run(["app", "rollback", name, "1"]);
      expectExit(r, 0);
      expect(r.stdout + r.stderr).toMatch(/version 5\b/);
      expect(await call(name, "Deployed.which")).toBe("one");

      const { rows } = await history();
      expect(rows.map((row) => row[0])).toEqual(["1", "2", "3", "4", "5 *"]);
      expect(rows[4][2]).toMatch(/rollback to version 1/);

      expect(await call(name, "Deployed.which", { version: 3 })).toBe("three");
      expect(await call(name, "Deployed.which", { version: 4 })).toBe("two");
      expect(await call(name, "Deployed.which")).toBe("one");
    });

    test("a redeploy of the file after rollbacks is the next version (and the same code as the current one is no change)", async () => {
      // The file still holds "three", which is not what version 5 runs.
      const r = await server.run(["deploy", file]);
      expectExit(r, 0);
      expect(r.stdout.split("\n")[0]).toMatch(/version 6\b/);
      expect(await call(name, "Deployed.which")).toBe("three");
      const again = await server.run(["deploy", file]);
      expectExit(again, 0);
      expect(again.stdout.split("\n")[0]).toMatch(/unchanged/i);
      expect((await history()).rows.map((row) => row[0])).toEqual(["1", "2", "3", "4", "5", "6 *"]);
    });

    test("rollback to a version that does not exist: exit 2 naming it and the versions there are; nothing changes", async () => {
      const r = await server.run(["app", "rollback", name, "9"]);
      expectExit(r, 2);
      expect(r.stderr).toContain("9");
      expect(r.stderr).toContain("1, 2, 3, 4, 5, 6");
      const bad = await server.run(["app", "rollback", name, "two"]);
      expectExit(bad, 2);
      expect(bad.stderr).toContain("two");
      expect((await history()).rows.map((row) => row[0])).toEqual(["1", "2", "3", "4", "5", "6 *"]);
      expect(await call(name, "Deployed.which")).toBe("three");
    });

    test("history and rollback of an app that does not exist: exit 2 naming it", async () => {
      for (const args of [["app", "history", "deploy-no-such-app"], ["app", "rollback", "deploy-no-such-app"]]) {
        const r = await server.run(args);
        expect(seen(r)).toEqual({ code: 2, stdout: "", stderr: expect.stringContaining("deploy-no-such-app") });
      }
    });

    test("rollback of an app with one version (nothing before it): exit 2", async () => {
      const single = writeFixture("deploy-single.ts", deploySource("deploy-single", "only"));
      expectExit(await server.run(["deploy", single]), 0);
      const r = await server.run(["app", "rollback", "deploy-single"]);
      expectExit(r, 2);
      expect(r.stderr).toContain("deploy-single");
      expect(r.stderr).toMatch(/no version before version 1/);
      expect(r.stderr).not.toContain("version 0");
      expect(await call("deploy-single", "Deployed.which")).toBe("only");
    });
  });

  test("a redeploy while a call runs: the running call finishes on the old code, new calls run the new", async () => {
    const name = "deploy-inflight";
    const source = (value: string) => `import { Stub } from "stubrun";
import fs from "node:fs";
import path from "node:path";

const stub = new Stub(${JSON.stringify(name)});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Slow {
  /** With hold, records that it started and waits for the test's "release" file. */
  @stub.function()
  async work(dir: string, hold: boolean): Promise<string> {
    if (hold) {
      fs.writeFileSync(path.join(dir, "started"), String(process.pid));
      while (!fs.existsSync(path.join(dir, "release"))) await sleep(50);
    }
    return ${JSON.stringify(value)};
  }
}
`;
    const file = writeFixture("deploy-inflight.ts", source("old code"));
    expectExit(await server.run(["deploy", file]), 0);

    const script = path.join(
      ROOT,
      writeFixture(
        "deploy-inflight.cjs",
        `const fs = require("node:fs");
const path = require("node:path");
const { lookup } = require("stubrun");
const [app, dir] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const work = await lookup(app, "Slow.work");
  const running = await work.spawn(dir, true);
  console.log("spawned " + running.id);
  while (!fs.existsSync(path.join(dir, "redeployed"))) await sleep(50);
  console.log("new call (same handle): " + (await work.remote(dir, false)));
  console.log("new call (new lookup): " + (await (await lookup(app, "Slow.work")).remote(dir, false)));
  fs.writeFileSync(path.join(dir, "release"), "");
  console.log("running call: " + (await running.get()));
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`,
      ),
    );
    const dir = tempDir("deploy-inflight");
    const client = new NodeProcess(script, [name, dir], server.env);
    await client.waitFor(/spawned \S+/);
    await waitUntil(() => fs.existsSync(path.join(dir, "started")), { what: "the held call to start in its worker" });

    fs.writeFileSync(path.join(ROOT, file), source("new code"));
    const redeploy = await server.run(["deploy", file]);
    expectExit(redeploy, 0);
    expect(redeploy.stdout.split("\n")[0]).toMatch(/version 2\b/);
    expect(fs.existsSync(path.join(dir, "release"))).toBe(false); // the old call is still running
    fs.writeFileSync(path.join(dir, "redeployed"), "");

    const r = await client.finish();
    expect(seen(r)).toEqual({
      code: 0,
      stdout: expect.stringContaining("new call (same handle): new code\nnew call (new lookup): new code\nrunning call: old code\n"),
      stderr: "",
    });
    expect(await call(name, "Slow.work", {}, [dir, false])).toBe("new code");
    expect(await call(name, "Slow.work", { version: 1 }, [dir, false])).toBe("old code");
  });
});
