import fs from "node:fs";
import path from "node:path";
import { DEFAULT_FUNCTION_OPTIONS } from "@stubrun/protocol";
import { ROOT, spawnBin, tempDir, TestServer, waitUntil, withTestServer, writeFixture } from "./harness";
import { RawClient, type RawMessage } from "./raw-client";
import { embeddedOnly } from "./queue-mode-env";

/**
 * Issue 7, the dispatcher and its workers (DESIGN §5): killing a worker kills what it started
 * and it counts as gone once its process has exited (item 6); a worker's messages and the calls
 * sent to it can never take the server down (item 2); the server's limits on workers, queued
 * calls, timers, keepWarm restarts, workers that cannot start and output outside calls (item 4);
 * a worker runs at the root of its uploaded code (SPEC §2). All through the real bin and a real server.
 */

const DIR = tempDir("worker-procs");

/** Alive and not a zombie: PID 1 of a container may never reap the orphans of a killed worker. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function readPids(name: string): number[] {
  const file = path.join(DIR, name);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as number[]) : [];
}

const lines = (name: string) => (fs.existsSync(path.join(DIR, name)) ? fs.readFileSync(path.join(DIR, name), "utf8").split("\n").filter(Boolean) : []);

const HEADER = `import { Stub, fn } from "stubrun";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
const DIR = ${JSON.stringify(DIR)};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
`;

// The fixtures embed DIR, so their names are unique to this jest process.
const SPAWNER = writeFixture(
  `worker-procs-spawner-${process.pid}.ts`,
  `${HEADER}
const stub = new Stub("worker-procs-spawner");

/** Starts a sleep that shares the worker's stdio, and one in a group of its own with its own pipes. */
function startSleepers(tag: string): number[] {
  const inherit = spawn("sleep", ["3600"], { stdio: "inherit" });
  const detached = spawn("sleep", ["3601"], { stdio: "pipe", detached: true });
  const pids = [inherit.pid as number, detached.pid as number];
  fs.writeFileSync(path.join(DIR, tag), JSON.stringify(pids));
  return pids;
}

class Spawner {
  @stub.function()
  leaveChildren(): number[] {
    return startSleepers("left");
  }

  @stub.function()
  async hold(): Promise<void> {
    startSleepers("held");
    await new Promise(() => {});
  }

  @stub.function()
  where(): { cwd: string; entryHere: boolean } {
    return { cwd: process.cwd(), entryHere: fs.readdirSync(".").some((f) => f.startsWith("worker-procs-spawner-")) };
  }

  @stub.localEntrypoint()
  async main() {
    console.log(JSON.stringify(await fn(this.leaveChildren).remote()));
  }

  @stub.localEntrypoint()
  async holding() {
    await fn(this.hold).remote();
  }

  @stub.localEntrypoint()
  async cwd() {
    return await fn(this.where).remote();
  }
}
`,
);

const LIAR = writeFixture(
  "worker-procs-liar.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("worker-procs-liar");

class Liar {
  /** The first call sends the server messages whose fields have the wrong types; the others queue behind it. */
  @stub.function({ concurrencyLimit: 1 })
  async lie(i: number): Promise<number> {
    if (i === 0) {
      const send = (m: unknown) => (process as unknown as { send(m: unknown): void }).send(m);
      send({ type: "start-failed", error: { name: "Error", message: "fake", stack: 5 } });
      send({ type: "start-failed", error: { name: 1, message: null } });
      send({ type: "start-failed", error: "boom" });
      send({ type: "done", callId: 7, ok: true });
      send({ type: "done", callId: "fc-nope", ok: false, error: { name: "E", message: "m", code: 3 } });
      send({ type: "output", callId: null, stream: "stdout", data: 5 });
      send({ type: "ready" });
      send("nonsense");
      await new Promise((r) => setTimeout(r, 500));
    }
    return i;
  }

  @stub.localEntrypoint()
  async main() {
    const results: number[] = [];
    for await (const r of fn(this.lie).map([0, 1, 2])) results.push(r);
    return results;
  }
}
`,
);

const BROKEN = writeFixture(
  `worker-procs-broken-${process.pid}.ts`,
  `${HEADER}
const stub = new Stub("worker-procs-broken");
if (process.env.STUBRUN_APP_ID) {
  fs.appendFileSync(path.join(DIR, "broken-starts"), process.pid + "\\n");
  throw new Error("broken on import");
}

class Broken {
  @stub.function()
  square(x: number): number {
    return x * x;
  }

  @stub.localEntrypoint()
  async main() {
    for await (const y of fn(this.square).map(Array.from({ length: 40 }, (_, i) => i))) console.log(y);
  }
}
`,
);

const FLAKY = writeFixture(
  `worker-procs-flaky-${process.pid}.ts`,
  `${HEADER}
const stub = new Stub("worker-procs-flaky");

class Flaky {
  /** Every worker dies as it starts. */
  @stub.enter()
  setUp() {
    fs.appendFileSync(path.join(DIR, "flaky-starts"), process.pid + "\\n");
    process.exit(1);
  }

  @stub.function({ keepWarm: 2 })
  f(): number {
    return 1;
  }

  @stub.localEntrypoint()
  async main() {
    await sleep(8_000);
  }
}
`,
);

const LIMITED = writeFixture(
  `worker-procs-limited-${process.pid}.ts`,
  `${HEADER}
const stub = new Stub("worker-procs-limited");

class Limited {
  @stub.function({ concurrencyLimit: 8 })
  async work(i: number): Promise<number> {
    await sleep(300);
    return process.pid;
  }

  @stub.function({ concurrencyLimit: 1 })
  async slow(i: number): Promise<number> {
    await sleep(500);
    return i;
  }

  @stub.localEntrypoint()
  async wide() {
    const pids: number[] = [];
    for await (const pid of fn(this.work).map([1, 2, 3, 4, 5])) pids.push(pid);
    return { results: pids.length, workers: new Set(pids).size };
  }

  @stub.localEntrypoint()
  async crowd() {
    const settled = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => fn(this.slow).spawn(i)));
    const refused = settled.flatMap((s) => (s.status === "rejected" ? [(s.reason as Error).message] : []));
    const accepted = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    await Promise.all(accepted.map((call) => call.cancel()));
    const after = await fn(this.slow).remote(99);
    return { refused: refused.length, accepted: accepted.length, message: refused[0], after };
  }

}

class Chatty {
  /** Writes about 4,750 bytes outside any call. */
  @stub.enter()
  hello() {
    for (let i = 0; i < 50; i++) console.log("enter line " + i + " " + "x".repeat(80));
  }

  @stub.function()
  ping(): string {
    return "pong";
  }

  @stub.localEntrypoint()
  async main() {
    return await fn(this.ping).remote();
  }
}
`,
);

describe("workers on a server with default limits", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("the end of stubrun FILE kills what a function started, even a child holding the worker's stdio", async () => {
    const r = await server.run([`${SPAWNER}::Spawner.main`]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const pids = JSON.parse(r.stdout.trim()) as number[];
    expect(pids).toEqual(readPids("left"));
    // The stdio-sharing child is in the worker's process group, killed with it once the worker is done.
    await waitUntil(() => !running(pids[0]), { what: `the sleep sharing the worker's stdio (pid ${pids[0]}) to be gone` });
    // The one in a group of its own was the worker's child when the worker was asked to leave.
    await waitUntil(() => !running(pids[1]), { what: `the detached sleep (pid ${pids[1]}) to be gone` });
  });

  test("app stop returns while a function's children hold the worker's stdio, and they are gone", async () => {
    const client = spawnBin(server, [`${SPAWNER}::Spawner.holding`]);
    const id = await client.appId();
    const pids = await waitUntil(() => (readPids("held").length === 2 ? readPids("held") : undefined), { what: "the held sleepers' pids" });
    expect(pids.every(running)).toBe(true);

    const stop = await server.run(["app", "stop", id]);
    expect(stop.stderr).toContain(`Stopped app ${id}`);
    expect(stop.code).toBe(0);
    expect((await client.exited).code).toBe(1);
    // Both: the one in the worker's group and the one that moved to a group of its own.
    await waitUntil(() => pids.every((pid) => !running(pid)), { what: `the sleepers ${pids.join(", ")} to be gone` });
  });

  test("a worker's working directory is the root of its uploaded code (SPEC §2)", async () => {
    const r = await server.run([`${SPAWNER}::Spawner.cwd`]);
    expect(r.code).toBe(0);
    const where = JSON.parse(r.stdout.trim()) as { cwd: string; entryHere: boolean };
    // A code folder named by its hash: the server's own, or (queue mode) a node's copy of it.
    const folder = path.basename(where.cwd);
    expect(path.basename(path.dirname(where.cwd))).toBe("code");
    expect(fs.existsSync(path.join(server.home, "code", folder))).toBe(true);
    expect(where.entryHere).toBe(true);
  });

  test("worker messages whose fields have the wrong types are ignored, and the server stays up", async () => {
    const r = await server.run([LIAR]);
    expect(r.stderr).toContain("ignored a malformed message from worker");
    expect(r.stderr).toContain('start-failed: "error": "stack" must be a string');
    expect(r.stdout.trim()).toBe("[0,1,2]");
    expect(r.code).toBe(0);
    expect(server.alive).toBe(true);
    const again = await server.run([LIAR]);
    expect(again.stdout.trim()).toBe("[0,1,2]");
  });

  test("a call whose arguments cannot be sent to its worker fails alone; the server and the app go on", async () => {
    const client = await RawClient.open(server);
    try {
      const appId = await createApp(client, [rawFunction("echo")]);
      // 100,000 nested arrays: JSON.stringify overflows the stack sending them to a worker.
      const depth = 100_000;
      const deep = `${"[".repeat(depth)}${"]".repeat(depth)}`;
      client.send(`{"type":"call.start","id":2,"appId":${JSON.stringify(appId)},"function":"Raw.echo","args":[${deep}]}`);
      const reply = await client.reply(2);
      if (reply.ok) {
        const callId = (reply.value as { callId: string }).callId;
        const result = await client.take((m) => m.type === "call.result" && m.callId === callId, "the deep call's result");
        expect(result.ok).toBe(false);
        expect(JSON.stringify(result.error)).toMatch(/could not be sent to its worker|nest|deep/i);
      } else {
        expect(reply.error?.message).toMatch(/nest|deep/i); // refused on arrival: fine too
      }
      expect(server.alive).toBe(true);
      expect(await call(client, appId, "Raw.echo", [41])).toMatchObject({ ok: true, value: 41 });
    } finally {
      await client.close();
    }
  });

  test("a .map() over code that throws on import starts one worker, not one per input", async () => {
    const r = await server.run([BROKEN]);
    expect(r.stderr).toContain("broken on import");
    expect(r.code).toBe(1);
    expect(lines("broken-starts").length).toBe(1);
    expect(server.alive).toBe(true);
  });

  test("keepWarm workers that die at once are restarted with a growing delay, said once in the app's logs", async () => {
    const r = await server.run([FLAKY]);
    expect(r.code).toBe(0);
    const id = /Created app (\S+)/.exec(r.stderr)?.[1] as string;
    // Without a backoff the server forks in a loop: dozens of workers in these 8 s.
    expect(lines("flaky-starts").length).toBeLessThanOrEqual(12);
    const logs = await server.run(["app", "logs", id]);
    expect(logs.code).toBe(0);
    expect(`${logs.stdout}${logs.stderr}`.match(/keepWarm workers of Flaky\.f keep exiting/g)).toHaveLength(1);
  });
});

describe("workers on a server with low limits in config.json", () => {
  let server: TestServer;
  const config = {
    limits: { maxWorkers: 2, maxQueuedCallsPerApp: 5, maxOutputBytesOutsideCalls: 1000, maxTimeoutSeconds: 10_000_000, maxContainerIdleTimeoutSeconds: 10_000_000 },
  };
  withTestServer((s) => (server = s), undefined, { config });

  // In queue mode the server runs no worker: each node's --concurrency bounds its workers
  // (docs/scaling-out.md), and BullMQ has no concurrency across queues to bound them all by one number.
  embeddedOnly("maxWorkers: five calls of a function allowed eight workers run on two", async () => {
    const r = await server.run([`${LIMITED}::Limited.wide`]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { results: number; workers: number };
    expect(out.results).toBe(5);
    expect(out.workers).toBeLessThanOrEqual(2);
  });

  test("maxQueuedCallsPerApp: calls past it are refused, saying the limit and how to raise it; the app goes on", async () => {
    const r = await server.run([`${LIMITED}::Limited.crowd`]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { refused: number; accepted: number; message: string; after: number };
    expect(out.refused).toBeGreaterThan(0);
    expect(out.accepted).toBeLessThanOrEqual(6);
    expect(out.message).toContain("limits.maxQueuedCallsPerApp = 5");
    expect(out.message).toContain("config.json");
    expect(out.after).toBe(99);
  });

  test("a timeout and an idle timeout longer than 24.8 days are not turned into 1 ms", async () => {
    // The SDK refuses such options; a raw client (or a raised limit) gets them to the dispatcher.
    const client = await RawClient.open(server);
    try {
      const long = { ...DEFAULT_FUNCTION_OPTIONS, timeout: 3_000_000, containerIdleTimeout: 3_000_000 };
      const appId = await createApp(client, [rawFunction("echo"), rawFunction("sleep", long)]);
      const result = await call(client, appId, "Raw.sleep", [500]);
      expect(result).toMatchObject({ ok: true, value: 500 });
      expect(await call(client, appId, "Raw.sleep", [10])).toMatchObject({ ok: true, value: 10 });
      expect(server.log).not.toContain("TimeoutOverflowWarning");
    } finally {
      await client.close();
    }
  });

  test("output outside calls is capped per worker, with one note", async () => {
    const r = await server.run([`${LIMITED}::Chatty.main`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("enter line 0 ");
    expect(r.stdout).not.toContain("enter line 49 ");
    expect(r.stdout.trim().endsWith("pong")).toBe(true);
    expect(r.stderr.match(/limits\.maxOutputBytesOutsideCalls/g)).toHaveLength(1);
  });
});

/** An app written in plain CommonJS, decorated by hand, so a raw client can upload it. */
const RAW_APP = `"use strict";
const { Stub } = require("stubrun");
const stub = new Stub("worker-procs-raw");
class Raw {
  echo(value) {
    return value;
  }
  async sleep(ms) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }
}
for (const name of ["echo", "sleep"]) stub.function()(Raw.prototype, name, Object.getOwnPropertyDescriptor(Raw.prototype, name));
`;

function rawFunction(methodName: string, options = DEFAULT_FUNCTION_OPTIONS) {
  return { name: `Raw.${methodName}`, className: "Raw", methodName, kind: "function", options, params: [] };
}

let nextRequestId = 100;

/** Uploads RAW_APP with these functions through a raw client; returns the app's id. */
async function createApp(client: RawClient, functions: unknown[]): Promise<string> {
  const manifest = { name: "worker-procs-raw", entry: "main.js", projectRoot: ROOT, functions };
  const created = await client.request({ type: "app.create", id: nextRequestId++, manifest, files: [{ path: "main.js", code: RAW_APP }] });
  if (!created.ok) throw new Error(`app.create was refused: ${created.error?.message}`);
  return (created.value as { appId: string }).appId;
}

/** Starts a call through a raw client and waits for its result. */
async function call(client: RawClient, appId: string, name: string, args: unknown[]): Promise<RawMessage> {
  const started = await client.request({ type: "call.start", id: nextRequestId++, appId, function: name, args });
  if (!started.ok) throw new Error(`call.start was refused: ${started.error?.message}`);
  return client.result((started.value as { callId: string }).callId);
}
