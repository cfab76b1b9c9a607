import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { callDeployed, NodeProcess, runNode, writeCallScript, type NodeResult } from "./deploy-helpers";
import { appList, BinProcess, freePort, removeTempDirs, ROOT, runBin, tempDir, TestServer, waitUntil, writeFixture, type RunResult } from "./harness";

/**
 * SPEC §2 `lookup()` and issue 4 point 3: plain Node programs, CommonJS (`require("stubrun")`)
 * and ESM (`import { lookup } from "stubrun"`), with no decorators, call the functions of a
 * deployed app with `.remote`, `.spawn` + `get` and `.map`, pinned to a version or not, and
 * exit by themselves when done. Missing or stopped apps and missing functions are errors that
 * name them; a loopback URL with nothing listening gets a daemon started.
 */

const APP = "lookup-calc";

function calcSource(version: string): string {
  return `import { Stub } from "stubrun";

const stub = new Stub(${JSON.stringify(APP)});

class Calc {
  @stub.function()
  square(x: number): { code: string; y: number } {
    return { code: ${JSON.stringify(version)}, y: x * x };
  }

  @stub.function()
  fail(message: string): never {
    throw new RangeError(message);
  }
}
`;
}

const CALC = writeFixture("lookup-calc.ts", calcSource("v1"));
const CALL = writeCallScript("lookup");

/** The body of a program that uses every kind of call on a looked-up function; prints one JSON line per result. */
function programBody(): string {
  return `const [app] = process.argv.slice(2);
const out = (label, value) => console.log(JSON.stringify([label, value]));

const square = await lookup(app, "Calc.square");
out("remote", await square.remote(3));
const call = await square.spawn(4);
out("spawn id", typeof call.id === "string" && call.id.length > 0);
out("get", await call.get());
const ys = [];
for await (const y of square.map([1, 2, 3, 4])) ys.push(y);
out("map", ys);

const pinned = await lookup(app, "Calc.square", { version: 1 });
out("pinned remote", await pinned.remote(5));
out("pinned spawn", await (await pinned.spawn(6)).get());
const ps = [];
for await (const y of pinned.map([7, 8])) ps.push(y);
out("pinned map", ps);

const fail = await lookup(app, "Calc.fail");
try {
  await fail.remote("too big");
  out("fail", "did not throw");
} catch (error) {
  out("fail", { isError: error instanceof Error, name: error.name, message: error.message });
}
`;
}

const CJS = path.join(
  ROOT,
  writeFixture(
    "lookup-program.cjs",
    `const { lookup } = require("stubrun");

(async () => {
${programBody()}
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`,
  ),
);

const ESM = path.join(ROOT, writeFixture("lookup-program.mjs", `import { lookup } from "stubrun";\n\n${programBody()}`));

/** A program that looks up what does not exist, printing each rejection as [what, name, message]. */
const MISSING = path.join(
  ROOT,
  writeFixture(
    "lookup-missing.cjs",
    `const { lookup } = require("stubrun");
const [app] = process.argv.slice(2);

(async () => {
  for (const [what, appName, fnName, options] of [
    ["app", "lookup-no-such-app", "Calc.square", {}],
    ["function", app, "Calc.cube", {}],
    ["version", app, "Calc.square", { version: 9 }],
  ]) {
    try {
      await lookup(appName, fnName, options);
      console.log(JSON.stringify([what, "found"]));
    } catch (error) {
      console.log(JSON.stringify([what, error.name, error.message]));
    }
  }
})();
`,
  ),
);

function lines(r: NodeResult | RunResult): [string, unknown][] {
  return r.stdout
    .trimEnd()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as [string, unknown]);
}

function expectDone(r: NodeResult, code = 0): void {
  if (r.hung) throw new Error(`the program did not exit by itself\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

describe("lookup() from any program", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
    // Version 1, then version 2 with different code: unpinned lookups run v2, pinned ones v1.
    const first = await server.run(["deploy", CALC]);
    if (first.code !== 0) throw new Error(`deploy failed:\n${first.stdout}${first.stderr}`);
    fs.writeFileSync(path.join(ROOT, CALC), calcSource("v2"));
    const second = await server.run(["deploy", CALC]);
    if (second.code !== 0 || !/version 2\b/.test(second.stdout)) throw new Error(`redeploy failed:\n${second.stdout}${second.stderr}`);
  });
  afterEach(async () => {
    await NodeProcess.killAll();
    await BinProcess.killAll();
  });
  afterAll(async () => {
    await server.stop();
    removeTempDirs();
  });

  const expected: [string, unknown][] = [
    ["remote", { code: "v2", y: 9 }],
    ["spawn id", true],
    ["get", { code: "v2", y: 16 }],
    ["map", [1, 4, 9, 16].map((y) => ({ code: "v2", y }))],
    ["pinned remote", { code: "v1", y: 25 }],
    ["pinned spawn", { code: "v1", y: 36 }],
    ["pinned map", [49, 64].map((y) => ({ code: "v1", y }))],
    ["fail", { isError: true, name: "RangeError", message: "too big" }],
  ];

  test.each([
    ["CommonJS (require)", () => CJS],
    ["ESM (import)", () => ESM],
  ])("%s: .remote, .spawn + get, .map, { version: 1 } pinning, a remote error; the program exits by itself", async (_kind, script) => {
    const r = await runNode(script(), [APP], server.env);
    expectDone(r);
    expect(lines(r)).toEqual(expected);
    expect(r.stderr).toBe("");
  });

  test("a missing app, a missing function and a missing version: rejections naming them; the program still exits by itself", async () => {
    const r = await runNode(MISSING, [APP], server.env);
    expectDone(r);
    const [app, fn, version] = lines(r);
    expect(app).toEqual(["app", expect.any(String), expect.stringContaining("lookup-no-such-app")]);
    expect(fn).toEqual(["function", expect.any(String), expect.stringContaining("Calc.cube")]);
    expect((fn as unknown[])[2]).toContain(APP);
    expect((fn as unknown[])[2]).toContain("Calc.square"); // it says which functions there are
    expect(version).toEqual(["version", expect.any(String), expect.stringMatching(/version 9/)]);
  });

  test("a stopped app can no longer be looked up, and a handle taken before the stop refuses new calls", async () => {
    const name = "lookup-stopme";
    const file = writeFixture("lookup-stopme.ts", calcSource("stopme").replace(JSON.stringify(APP), JSON.stringify(name)));
    const deploy = await server.run(["deploy", file]);
    expect(deploy.code).toBe(0);
    expect(await callDeployed(CALL, server.env, name, "Calc.square", {}, [2])).toEqual({ code: "stopme", y: 4 });

    // A program that holds a handle across the stop.
    const dir = tempDir("lookup-stop");
    const holder = new NodeProcess(
      path.join(
        ROOT,
        writeFixture(
          "lookup-holder.cjs",
          `const fs = require("node:fs");
const path = require("node:path");
const { lookup } = require("stubrun");
const [app, dir] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const square = await lookup(app, "Calc.square");
  console.log("before: " + JSON.stringify(await square.remote(3)));
  while (!fs.existsSync(path.join(dir, "stopped"))) await sleep(50);
  try {
    console.log("after: " + JSON.stringify(await square.remote(3)));
  } catch (error) {
    console.log("after: " + error.message);
  }
})();
`,
        ),
      ),
      [name, dir],
      server.env,
    );
    await holder.waitFor(/^before: .*\n/m);

    const stop = await server.run(["app", "stop", name, "--yes"]);
    expect(stop.code).toBe(0);
    expect((await appList(server)).find((a) => a.name === name)).toMatchObject({ state: "stopped" });
    fs.writeFileSync(path.join(dir, "stopped"), "");

    const held = await holder.finish();
    expect(held.code).toBe(0);
    expect(held.stdout).toMatch(/^after: .*\bstopped\b/m);
    expect(held.stdout).toMatch(new RegExp(`^after: .*${name}`, "m"));

    const r = await runNode(CALL, [name, "Calc.square", "{}", "[3]"], server.env);
    expectDone(r, 1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(name);
    expect(r.stderr).toMatch(/stopped/);

    // Deployed again, the name is a new app (a new id, version 1) that lookup() finds again.
    const oldId = (/\((ap-\S+)\)/.exec(deploy.stdout) as RegExpExecArray)[1];
    const again = await server.run(["deploy", file]);
    expect(again.code).toBe(0);
    const newId = (/^Created app lookup-stopme \((ap-\S+)\), version 1\n/.exec(again.stdout) as RegExpExecArray)[1];
    expect(newId).not.toBe(oldId);
    expect(await callDeployed(CALL, server.env, name, "Calc.square", {}, [4])).toEqual({ code: "stopme", y: 16 });

    // The other deployed app is untouched.
    expect(await callDeployed(CALL, server.env, APP, "Calc.square", {}, [2])).toEqual({ code: "v2", y: 4 });
  });

  test("a loopback URL with nothing listening: lookup() starts the local daemon by itself", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-lookup-daemon-"));
    const url = `http://127.0.0.1:${await freePort()}`;
    const env = { ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: url };
    try {
      const before = await runBin(["server", "status"], { env });
      expect(before.stdout).toContain("not running");

      // Nothing is deployed there yet: the daemon starts, and the lookup is refused naming the app.
      const r = await runNode(CALL, ["lookup-autostart", "Calc.square", "{}", "[3]"], env, 45_000);
      expectDone(r, 1);
      expect(r.stderr).toContain("lookup-autostart");

      const status = await runBin(["server", "status"], { env });
      expect(status.code).toBe(0);
      expect(status.stdout).toContain(`running on ${url}`);
      const info = JSON.parse(fs.readFileSync(path.join(home, "server.pid"), "utf8")) as { pid: number; url: string };
      expect(info.url).toBe(url);

      // Deployed to that daemon, the same program finds and calls it.
      const file = writeFixture("lookup-autostart.ts", calcSource("auto").replace(JSON.stringify(APP), JSON.stringify("lookup-autostart")));
      const deploy = await runBin(["deploy", file], { env });
      expect(deploy.code).toBe(0);
      expect(deploy.stderr).not.toMatch(/Starting a local stubrun server/); // it was already running
      expect(await callDeployed(CALL, env, "lookup-autostart", "Calc.square", {}, [3])).toEqual({ code: "auto", y: 9 });
    } finally {
      const stop = await runBin(["server", "stop"], { env });
      await waitUntil(() => !fs.existsSync(path.join(home, "server.pid")), { what: "the daemon's pid file to go" }).catch(() => undefined);
      fs.rmSync(home, { recursive: true, force: true });
      expect(stop.code).toBe(0);
      expect(stop.stderr).toContain("Stopped the stubrun server");
    }
  });

  test("the repository's own apps are untouched by all of the above: lookup still reaches both versions", async () => {
    const apps = (await appList(server)).filter((a) => a.name === APP);
    expect(apps).toEqual([expect.objectContaining({ state: "deployed", version: 2 })]);
    expect(await callDeployed(CALL, server.env, APP, "Calc.square", { version: 1 }, [10])).toEqual({ code: "v1", y: 100 });
  });
});
