import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { callDeployed, NodeProcess, writeCallScript } from "./deploy-helpers";
import { BinProcess, freePort, pidAlive, removeTempDirs, ROOT, runBin, tempDir, waitUntil, writeFixture, type AppJson, type RunResult } from "./harness";

/**
 * SPEC §3 "Deployed apps, their versions ... survive a restart of the server" and issue 4 point
 * 4, with the server run as users run it: the daemon of `stubrun server start` / `server stop`,
 * in a fresh STUBRUN_HOME on a free port. A deployed app, its versions, its code and lookups of
 * it survive `server stop && server start` and a `kill -9` of the server; ephemeral and detached
 * apps that were running are `stopped` after the restart.
 */

const NAME = "persist-app";

function deployedSource(value: string): string {
  return `import { Stub } from "stubrun";

const stub = new Stub(${JSON.stringify(NAME)});

class Persist {
  @stub.function()
  which(): string {
    return ${JSON.stringify(value)};
  }

  /** The worker's pid, so the test can see it go with the server. */
  @stub.function()
  pid(): number {
    return process.pid;
  }

  @stub.webEndpoint({ method: "GET" })
  greet(who = "world"): string {
    return "hello " + who + " from " + ${JSON.stringify(value)};
  }
}
`;
}

const DEPLOYED = writeFixture("persistence-app.ts", deployedSource("one"));
const CALL = writeCallScript("persistence");

/** An app run with `stubrun FILE` (or `--detach`): its call records its worker's pid and holds until the test's release file. */
const EPHEMERAL = writeFixture(
  "persistence-ephemeral.ts",
  `import { Stub, fn } from "stubrun";
import fs from "node:fs";
import path from "node:path";

const stub = new Stub("persist-ephemeral");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Hold {
  @stub.function()
  async hold(dir: string, label: string): Promise<string> {
    fs.writeFileSync(path.join(dir, "pid-" + label), String(process.pid));
    while (!fs.existsSync(path.join(dir, "release-" + label))) await sleep(50);
    return label + " done";
  }

  @stub.localEntrypoint()
  async main(dir: string, label: string, spawn = false) {
    if (spawn) {
      const call = await fn(this.hold).spawn(dir, label);
      console.log("spawned " + call.id);
      return;
    }
    console.log(await fn(this.hold).remote(dir, label));
  }
}
`,
);

/**
 * A long-lived program (a web app, say) that looks `Persist.which` up once and calls it through
 * that same handle each time the test creates `go-N` in its directory, until `done`.
 */
const HOLDER = path.join(
  ROOT,
  writeFixture(
    "persistence-holder.cjs",
    `const fs = require("node:fs");
const path = require("node:path");
const { lookup } = require("stubrun");
const [app, dir] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const which = await lookup(app, "Persist.which");
  console.log("0: " + (await which.remote()));
  for (let i = 1; ; i++) {
    while (!fs.existsSync(path.join(dir, "go-" + i)) && !fs.existsSync(path.join(dir, "done"))) await sleep(50);
    if (!fs.existsSync(path.join(dir, "go-" + i))) break;
    try {
      console.log(i + ": " + (await which.remote()));
    } catch (error) {
      console.log(i + ": failed: " + error.message);
    }
  }
})();
`,
  ),
);

/** Starts the long-lived program and waits for its first call. */
async function startHolder(env: NodeJS.ProcessEnv) {
  const dir = tempDir("persistence-holder");
  const holder = new NodeProcess(HOLDER, [NAME, dir], env);
  await holder.waitFor(/^0: .*\n/m);
  let n = 0;
  return {
    holder,
    /** Makes the program call through its old handle once more; returns what that printed. */
    async callAgain(): Promise<string> {
      n++;
      fs.writeFileSync(path.join(dir, `go-${n}`), "");
      return (await holder.waitFor(new RegExp(`^${n}: (.*)\n`, "m")))[1];
    },
    async finish() {
      fs.writeFileSync(path.join(dir, "done"), "");
      return holder.finish();
    },
  };
}

function expectExit(r: RunResult, code: number): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code} (signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

function workerPid(dir: string, label: string): Promise<number> {
  return waitUntil(
    () => {
      const file = path.join(dir, `pid-${label}`);
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      return text ? Number(text) : undefined;
    },
    { what: `the worker of ${label} to start` },
  );
}

describe("deployed apps survive a restart of the server", () => {
  let home: string;
  let url: string;
  let env: NodeJS.ProcessEnv;
  let appId: string;

  const bin = (args: string[], timeoutMs?: number) => runBin(args, { env, timeoutMs });
  const call = (name: string, options: { version?: number } = {}) => callDeployed(CALL, env, NAME, name, options);
  const daemon = (): { pid: number; port: number; url: string } => JSON.parse(fs.readFileSync(path.join(home, "server.pid"), "utf8"));
  const apps = async (): Promise<AppJson[]> => {
    const r = await bin(["app", "list", "--json"]);
    expectExit(r, 0);
    return JSON.parse(r.stdout) as AppJson[];
  };
  const historyRows = async (): Promise<string[][]> => {
    const r = await bin(["app", "history", NAME]);
    expectExit(r, 0);
    return r.stdout
      .trimEnd()
      .split("\n")
      .slice(1)
      .map((row) => row.split(/\s{2,}/));
  };
  const start = async () => {
    const r = await bin(["server", "start"]);
    expectExit(r, 0);
    expect(r.stderr).toContain(`Started the stubrun server on ${url}`);
    return daemon();
  };

  /** Starts `stubrun FILE` holding a call in its worker; returns the client, its app id and the worker's pid. */
  async function holding(label: string, detach: boolean) {
    const dir = tempDir("persistence");
    const client = new BinProcess([...(detach ? ["--detach"] : []), EPHEMERAL, "--dir", dir, "--label", label, ...(detach ? ["--spawn"] : [])], env);
    const id = await client.appId();
    const pid = await workerPid(dir, label);
    if (detach) expectExit(await client.exited, 0);
    return { client, id, pid };
  }

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-persistence-"));
    url = `http://127.0.0.1:${await freePort()}`;
    env = { ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: url };
    await start();
  });
  afterEach(async () => {
    await NodeProcess.killAll();
    await BinProcess.killAll();
  });
  afterAll(async () => {
    const stop = await bin(["server", "stop"]);
    fs.rmSync(home, { recursive: true, force: true });
    removeTempDirs();
    expectExit(stop, 0);
  });

  test("server stop && server start: the app, its versions, code, lookups and web endpoint are all back; a running ephemeral app is stopped", async () => {
    const first = await bin(["deploy", DEPLOYED]);
    expectExit(first, 0);
    appId = (/^Created app persist-app \((ap-\S+)\), version 1/.exec(first.stdout) as RegExpExecArray)[1];
    fs.writeFileSync(path.join(ROOT, DEPLOYED), deployedSource("two"));
    expectExit(await bin(["deploy", DEPLOYED]), 0);
    expect(await call("Persist.which")).toBe("two");

    const program = await startHolder(env);
    const ephemeral = await holding("stop", false);
    expect((await apps()).find((a) => a.id === ephemeral.id)).toMatchObject({ state: "ephemeral" });
    const { pid: serverPid } = daemon();

    const stop = await bin(["server", "stop"]);
    expectExit(stop, 0);
    expect(stop.stderr).toContain("Stopped the stubrun server");
    expect(pidAlive(serverPid)).toBe(false);
    await waitUntil(() => !pidAlive(ephemeral.pid), { what: "the ephemeral app's worker to exit with the server" });
    const lost = await ephemeral.client.exited;
    expect(lost.code).not.toBe(0);
    const status = await bin(["server", "status"]);
    expect(status.stdout).toContain("not running");

    const info = await start();
    expect(info.url).toBe(url);
    expect(info.pid).not.toBe(serverPid);

    const list = await apps();
    expect(list.find((a) => a.id === appId)).toMatchObject({ name: NAME, state: "deployed", version: 2, stoppedAt: null });
    expect(list.filter((a) => a.name === NAME)).toHaveLength(1);
    expect(list.find((a) => a.id === ephemeral.id)).toMatchObject({ state: "stopped", stoppedAt: expect.any(String) });

    expect(await historyRows()).toEqual([
      ["1", expect.any(String), "first deploy"],
      ["2 *", expect.any(String), expect.stringMatching(/code changed/)],
    ]);
    expect(await call("Persist.which")).toBe("two");
    expect(await call("Persist.which", { version: 1 })).toBe("one");
    expect(await (await fetch(`${url}/web/${NAME}/Persist.greet?who=again`)).json()).toBe("hello again from two");

    // A program that looked the function up before the restart still calls it through the same handle.
    expect(await program.callAgain()).toBe("two");
    expect((await program.finish()).code).toBe(0);

    // The stored version still counts as the current code: the same file again is no change.
    const same = await bin(["deploy", DEPLOYED]);
    expectExit(same, 0);
    expect(same.stdout.split("\n")[0]).toMatch(/unchanged/i);
    expect(same.stdout.split("\n")[0]).toContain(appId);
  });

  test("kill -9 of the server, then server start: everything still works; ephemeral and detached apps are stopped", async () => {
    const killed = daemon();
    expect(killed.url).toBe(url);
    expect(killed.port).toBe(Number(new URL(url).port));
    expect(pidAlive(killed.pid)).toBe(true);

    const program = await startHolder(env);
    const deployedWorker = (await call("Persist.pid")) as number;
    expect(pidAlive(deployedWorker)).toBe(true);
    const ephemeral = await holding("kill-ephemeral", false);
    const detached = await holding("kill-detached", true);
    const before = await apps();
    expect(before.find((a) => a.id === ephemeral.id)).toMatchObject({ state: "ephemeral" });
    expect(before.find((a) => a.id === detached.id)).toMatchObject({ state: "detached" });

    process.kill(killed.pid, "SIGKILL");
    await waitUntil(() => !pidAlive(killed.pid), { what: "the server to die" });
    // Its workers go with it.
    for (const pid of [deployedWorker, ephemeral.pid, detached.pid]) {
      await waitUntil(() => !pidAlive(pid), { timeoutMs: 15_000, what: `worker ${pid} to exit after its server was killed` });
    }
    const lost = await ephemeral.client.exited;
    expect(lost.code).not.toBe(0);
    const status = await bin(["server", "status"]);
    expect(status.code).not.toBe(0);

    const info = await start();
    expect(info.pid).not.toBe(killed.pid);

    const list = await apps();
    expect(list.find((a) => a.id === appId)).toMatchObject({ name: NAME, state: "deployed", version: 2 });
    expect(list.find((a) => a.id === ephemeral.id)).toMatchObject({ state: "stopped", stoppedAt: expect.any(String), runningTasks: 0 });
    expect(list.find((a) => a.id === detached.id)).toMatchObject({ state: "stopped", stoppedAt: expect.any(String), runningTasks: 0 });

    expect((await historyRows()).map((row) => row[0])).toEqual(["1", "2 *"]);
    expect(await call("Persist.which")).toBe("two");
    expect(await call("Persist.which", { version: 1 })).toBe("one");
    expect(await (await fetch(`${url}/web/${NAME}/Persist.greet`)).json()).toBe("hello world from two");

    expect(await program.callAgain()).toBe("two");
    expect((await program.finish()).code).toBe(0);

    // Changes made after the crash are kept too: a rollback, then one more restart.
    const rollback = await bin(["app", "rollback", NAME, "1"]);
    expectExit(rollback, 0);
    expect(await call("Persist.which")).toBe("one");
    expectExit(await bin(["server", "stop"]), 0);
    await start();
    expect((await apps()).find((a) => a.id === appId)).toMatchObject({ state: "deployed", version: 3 });
    expect((await historyRows()).map((row) => [row[0], row[2]])).toEqual([
      ["1", "first deploy"],
      ["2", expect.stringMatching(/code changed/)],
      ["3 *", expect.stringMatching(/rollback to version 1/)],
    ]);
    expect(await call("Persist.which")).toBe("one");
    expect(await call("Persist.which", { version: 2 })).toBe("two");
  });
});
