import fs from "node:fs";
import path from "node:path";
import { BinProcess, freePort, pidAlive, runBin, removeTempDirs, spawnBin, tempDir, TestServer, waitUntil, writeFixture } from "./harness";
import { Queue } from "bullmq";
import { RedisServer } from "./redis-server";

/**
 * `stubrun server --queue redis://...` with a `stubrun worker` node on this machine (its own
 * STUBRUN_HOME): calls go through BullMQ on a Redis the test starts, and run on the node.
 */

const APP = writeFixture(
  "queue-mode.ts",
  `import fs from "node:fs";
import path from "node:path";
import { Secret, Stub, fn } from "stubrun";

const stub = new Stub("queue-mode");

async function block(dir: string, tag: string): Promise<string> {
  fs.writeFileSync(path.join(dir, \`started-\${tag}\`), "");
  while (!fs.existsSync(path.join(dir, "release"))) await new Promise((resolve) => setTimeout(resolve, 20));
  return tag;
}

class Queued {
  @stub.function()
  greet(name: string): string {
    console.log(\`hello from the node, \${name}\`);
    return \`greeted \${name}\`;
  }

  @stub.function({ concurrencyLimit: 4 })
  square(x: number): number {
    return x * x;
  }

  /** Throws on its first attempt, succeeds on its second. */
  @stub.function({ retries: { maxRetries: 1, initialDelayMs: 10 } })
  flaky(dir: string): string {
    const file = path.join(dir, "attempts");
    const attempt = (fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) : 0) + 1;
    fs.writeFileSync(file, String(attempt));
    if (attempt === 1) throw new Error("the first attempt fails on purpose");
    return \`succeeded on attempt \${attempt}\`;
  }

  @stub.function()
  async hold(dir: string): Promise<void> {
    fs.writeFileSync(path.join(dir, "pid"), String(process.pid));
    await new Promise((resolve) => setTimeout(resolve, 600_000));
  }

  /** Sleeps, then returns its input; each run appends a line to dir/runs. */
  @stub.function({ concurrencyLimit: 8 })
  async slow(x: number, dir: string): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 400));
    fs.appendFileSync(path.join(dir, "runs"), \`\${x}\\n\`);
    return x;
  }

  @stub.function({ secrets: [Secret.fromName("queue-sec"), Secret.fromObject({ FROM_OBJECT: "object-value" })] })
  secretive(): string {
    return \`\${process.env.FROM_NAME}/\${process.env.FROM_OBJECT}/\${process.env.STUBRUN_SERVER_URL === undefined ? "no url" : "url"}\`;
  }

  @stub.function()
  where(): string {
    return \`\${process.pid} \${process.env.NODE_ONLY ?? "none"} \${process.cwd()}\`;
  }

  @stub.function()
  huge(): string {
    return "x".repeat(40 * 1024 * 1024);
  }

  /** Marks that it started, then waits for dir/release. */
  @stub.function({ concurrencyLimit: 4 })
  async blockA(dir: string, tag: string): Promise<string> {
    return block(dir, tag);
  }

  @stub.function({ concurrencyLimit: 4 })
  async blockB(dir: string, tag: string): Promise<string> {
    return block(dir, tag);
  }

  @stub.localEntrypoint()
  async main(what = "greet", dir = "") {
    if (what === "greet") console.log(await fn(this.greet).remote("world"));
    if (what === "map") {
      const squares: number[] = [];
      for await (const y of fn(this.square).map(Array.from({ length: 50 }, (_, i) => i))) squares.push(y);
      console.log(\`squares \${squares.join(",")}\`);
    }
    if (what === "flaky") console.log(await fn(this.flaky).remote(dir));
    if (what === "hold") await fn(this.hold).remote(dir);
    if (what === "gate") {
      const a = [1, 2, 3].map((i) => fn(this.blockA).remote(dir, \`a\${i}\`));
      const b = [1, 2, 3].map((i) => fn(this.blockB).remote(dir, \`b\${i}\`));
      console.log(\`done \${(await Promise.all([...a, ...b])).join(",")}\`);
    }
    if (what === "huge") {
      try {
        await fn(this.huge).remote();
      } catch (error) {
        console.log(\`huge: \${(error as Error).name}: \${(error as Error).message}\`);
      }
      console.log(\`after: \${await fn(this.greet).remote("again")}\`);
    }
    if (what === "where") console.log(\`where \${await fn(this.where).remote()}\`);
    if (what === "secrets") console.log(\`secrets \${await fn(this.secretive).remote()}\`);
    if (what === "slow") {
      const results: number[] = [];
      for await (const y of fn(this.slow).starmap(Array.from({ length: 40 }, (_, i) => [i, dir] as [number, string]))) results.push(y);
      console.log(\`results \${results.join(",")}\`);
    }
  }
}
`,
);

/** A deployed app with a Period schedule: each run appends a line to dir/ticks. */
function scheduledApp(dir: string): string {
  return writeFixture(
    "queue-schedule.ts",
    `import fs from "node:fs";
import { Period, Stub } from "stubrun";

const stub = new Stub("queue-schedule");

class Ticker {
  @stub.function({ schedule: new Period({ seconds: 1 }) })
  tick(): void {
    fs.appendFileSync(${JSON.stringify(path.join(dir, "ticks"))}, process.pid + "\\n");
    console.log("tick on a node");
  }
}
`,
  );
}

let redis: RedisServer;
let server: TestServer;
let node: BinProcess | undefined;

/** Starts a worker node against the server, with a home of its own. */
function startNode(concurrency = 4): BinProcess {
  const home = tempDir("queue-node");
  return spawnBin(server, ["worker", "--server", server.url, "--queue", redis.url, "--concurrency", String(concurrency)], {
    env: {
      STUBRUN_HOME: home,
      STUBRUN_TOKEN: server.token,
      NODE_ONLY: "the node's own",
    },
  });
}

/** A node's worker processes started ahead and not taken yet: its children waiting in / for a function's code. */
function startedAhead(nodePid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === nodePid && fs.readlinkSync(`/proc/${entry}/cwd`) === "/") pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

beforeAll(async () => {
  redis = await RedisServer.start();
  server = await TestServer.start({ args: ["--queue", redis.url] });
  // The app names it: an upload naming a secret the server lacks is refused.
  expect((await server.run(["secret", "create", "queue-sec", "FROM_NAME=named-value"])).code).toBe(0);
});

afterAll(async () => {
  // The node first, gently: it stops its worker processes.
  node?.signal("SIGTERM");
  await node?.exited;
  await BinProcess.killAll();
  await server?.stop();
  await redis?.stop();
  removeTempDirs();
});

describe("a server with --queue and a worker node", () => {
  test("a run started with no node connected says so and waits; a node that connects then runs it, output before the result", async () => {
    const client = spawnBin(server, [APP]);
    await client.waitFor(/no worker node is connected to the server; the call waits until one is/);
    node = startNode();
    await node.waitFor(/connected to the server/);
    const r = await client.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/hello from the node, world\n[^]*greeted world\n/);
    expect(r.stdout.indexOf("hello from the node")).toBeLessThan(r.stdout.indexOf("greeted world"));
  });

  test("stubrun server status and the apps page list the node: its id, slots and running calls", async () => {
    const r = await server.run(["server", "status"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/worker nodes \(1\):\n {2}\S+: 4 slots, 0 running, connected since /);
    const nodeId = /worker nodes \(1\):\n {2}(\S+):/.exec(r.stdout)?.[1] as string;
    // And on the apps page.
    const page = await (await server.api("/apps")).text();
    expect(page).toContain("<h2>Worker nodes</h2>");
    expect(page).toContain(`<tr data-node-id="${nodeId}"><td>${nodeId}</td><td>4</td><td>-</td>`);
  });

  test("a node keeps as many workers started ahead as it has slots: a function's first call takes one, with the call's environment (not the node's); it is replaced", async () => {
    const nodePid = node?.pid as number;
    await waitUntil(() => startedAhead(nodePid).length === 4, { what: "4 workers started ahead on the node" });
    const ahead = startedAhead(nodePid);
    const r = await server.run([APP, "--what", "where"]);
    expect(r.code).toBe(0);
    const [pid, leak, cwd] = (/where (\d+) (.+) (\/.*)\n/.exec(r.stdout) ?? []).slice(1);
    expect(ahead).toContain(Number(pid));
    expect(leak).toBe("none");
    expect(path.basename(path.dirname(cwd))).toBe("code");
    await waitUntil(() => startedAhead(nodePid).length === 4 && !startedAhead(nodePid).includes(Number(pid)), { what: "the taken worker replaced" });
  });

  test("a .map of 50 calls returns every result, in order", async () => {
    const r = await server.run([APP, "--what", "map"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`squares ${Array.from({ length: 50 }, (_, i) => i * i).join(",")}\n`);
  });

  test("a function that throws once then succeeds (retries: 1) succeeds, saying the first attempt failed", async () => {
    const dir = tempDir("queue-flaky");
    const r = await server.run([APP, "--what", "flaky", "--dir", dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Queued\.flaky attempt 1 failed \(the first attempt fails on purpose\); retrying in 10 ms/);
    expect(r.stdout).toContain("succeeded on attempt 2\n");
  });

  test("secrets reach the worker on the node: a named one from the server's store, a fromObject one from the manifest", async () => {
    const r = await server.run([APP, "--what", "secrets"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("secrets named-value/object-value/url\n");
  });

  test("a result too large to send from the node fails the call saying so; the node goes on", async () => {
    const r = await server.run([APP, "--what", "huge"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/huge: UncarriableValueError: the call's result could not be sent from its worker node \(\d+ bytes, over the 33554432 a message may carry\); return something smaller\n/);
    expect(r.stdout).toContain("after: greeted again\n");
  });

  test("Ctrl-C of the client cancels its call on the node: its worker process goes", async () => {
    const dir = tempDir("queue-hold");
    const client = spawnBin(server, [APP, "--what", "hold", "--dir", dir]);
    const pid = await waitUntil(() => fs.existsSync(path.join(dir, "pid")) && Number(fs.readFileSync(path.join(dir, "pid"), "utf8")), { what: "the call to start on the node" });
    expect(pidAlive(pid)).toBe(true);
    client.signal("SIGINT");
    expect((await client.exited).code).toBe(130);
    await waitUntil(() => !pidAlive(pid), { timeoutMs: 15_000, what: `worker ${pid} on the node to exit` });
  });
});

describe("two worker nodes", () => {
  test("kill -9 of a node in the middle of a run: its calls run again on the other node, every result arrives exactly once", async () => {
    const second = startNode(2);
    await second.waitFor(/connected to the server/);
    const dir = tempDir("queue-kill");
    const client = spawnBin(server, [APP, "--what", "slow", "--dir", dir]);
    // Once the second node runs calls of the run, it dies mid-way.
    await waitUntil(
      async () => {
        const { nodes } = (await (await server.api("/api/nodes")).json()) as { nodes: { nodeId: string; running: string[] }[] };
        return nodes.some((n) => second.stderr.includes(`stubrun worker ${n.nodeId}:`) && n.running.length > 0);
      },
      { intervalMs: 20, what: "the second node to run calls" },
    );
    second.signal("SIGKILL");
    const r = await client.exited;
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`results ${Array.from({ length: 40 }, (_, i) => i).join(",")}\n`);
    // At least once: every input ran, some of them twice (those the dead node was running).
    const runs = fs.readFileSync(path.join(dir, "runs"), "utf8").trim().split("\n").map(Number);
    expect(new Set(runs).size).toBe(40);
  });
});

describe("a node that stops", () => {
  test("SIGTERM of a node in the middle of a run: its calls go back to the queue at once and run on another node, saying so", async () => {
    const leaving = startNode(2);
    await leaving.waitFor(/connected to the server/);
    const leavingId = /stubrun worker (\S+):/.exec(leaving.stderr)?.[1] as string;
    const dir = tempDir("queue-leave");
    const client = spawnBin(server, [APP, "--what", "slow", "--dir", dir]);
    await waitUntil(
      async () => {
        const { nodes } = (await (await server.api("/api/nodes")).json()) as { nodes: { nodeId: string; running: string[] }[] };
        return (nodes.find((n) => n.nodeId === leavingId)?.running.length ?? 0) > 0;
      },
      { intervalMs: 20, what: "the leaving node to run calls" },
    );
    leaving.signal("SIGTERM");
    expect((await leaving.exited).code).toBe(0);
    const r = await client.exited;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`stubrun: worker node ${leavingId} is stopping; Queued.slow runs again on another node\n`);
    expect(r.stdout).toContain(`results ${Array.from({ length: 40 }, (_, i) => i).join(",")}\n`);
  });
});

describe("a node's slots", () => {
  test("a node of 4 slots runs 4 calls at once across functions, not 4 per function: the others wait in the queue", async () => {
    const dir = tempDir("queue-gate");
    const client = spawnBin(server, [APP, "--what", "gate", "--dir", dir]);
    const started = () => fs.readdirSync(dir).filter((f) => f.startsWith("started-")).length;
    await waitUntil(() => started() === 4, { what: "4 calls to start" });
    const running = async () => {
      const { nodes } = (await (await server.api("/api/nodes")).json()) as { nodes: { running: string[] }[] };
      return nodes.reduce((n, node) => n + node.running.length, 0);
    };
    // Checked a few times while they block: never more than the node's 4 slots.
    for (let i = 0; i < 5; i++) {
      expect(await running()).toBeLessThanOrEqual(4);
      expect(started()).toBe(4);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    fs.writeFileSync(path.join(dir, "release"), "");
    const r = await client.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("done a1,a2,a3,b1,b2,b3\n");
  });
});

describe("usage", () => {
  test("stubrun worker without STUBRUN_TOKEN, or without --queue, is a usage error saying what to give", async () => {
    const env = { ...process.env, STUBRUN_HOME: tempDir("queue-usage"), STUBRUN_TOKEN: "" };
    const noToken = await runBin(["worker", "--server", "http://127.0.0.1:1", "--queue", "redis://127.0.0.1:1"], { env });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("stubrun worker needs the server's token: set STUBRUN_TOKEN");
    const noQueue = await runBin(["worker", "--server", "http://127.0.0.1:1"], { env: { ...env, STUBRUN_TOKEN: "t" } });
    expect(noQueue.code).toBe(2);
    expect(noQueue.stderr).toMatch(/queue/);
    const badAhead = await runBin(["worker", "--server", "http://127.0.0.1:1", "--queue", "redis://127.0.0.1:1", "--prestarted-workers", "-1"], { env: { ...env, STUBRUN_TOKEN: "t" } });
    expect(badAhead.code).toBe(2);
    expect(badAhead.stderr).toContain("--prestarted-workers expects a whole number of processes, 0 or more, got -1");
  });

  test("stubrun server --queue with something else than a redis:// URL is a usage error", async () => {
    const r = await runBin(["server", "--port", "0", "--queue", "http://127.0.0.1:6379"], { env: { ...process.env, STUBRUN_HOME: tempDir("queue-usage") } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--queue expects a redis:// URL, got http://127.0.0.1:6379");
  });
});

describe("a node alone", () => {
  test("a node that cannot reach the server nor Redis says so and keeps trying; once Redis is up it says it is connected", async () => {
    const [serverPort, redisPort] = [await freePort(), await freePort()];
    const lonely = spawnBin(server, ["worker", "--server", `http://127.0.0.1:${serverPort}`, "--queue", `redis://127.0.0.1:${redisPort}`, "--concurrency", "1"], {
      env: { STUBRUN_HOME: tempDir("queue-lonely"), STUBRUN_TOKEN: "some-token" },
    });
    await lonely.waitFor(new RegExp(`cannot reach the server at http://127.0.0.1:${serverPort} \\(.*ECONNREFUSED.*\\); retrying every 2 s`));
    await lonely.waitFor(new RegExp(`cannot reach Redis \\(.*ECONNREFUSED.*\\); retrying`));
    const late = await RedisServer.start({ port: redisPort });
    try {
      await lonely.waitFor(/connected to Redis/);
      expect(lonely.running).toBe(true);
    } finally {
      lonely.signal("SIGTERM");
      await lonely.exited;
      await late.stop();
    }
  });
});

describe("schedules in queue mode", () => {
  test("a deployed Period is a BullMQ job scheduler in Redis: it fires, each run a recorded call on a node; app stop removes it from Redis", async () => {
    node ??= startNode();
    await node.waitFor(/connected to the server/);
    const dir = tempDir("queue-schedule");
    const deployed = await server.run(["deploy", scheduledApp(dir)]);
    expect(deployed.code).toBe(0);
    const appId = /(ap-[A-Za-z0-9]+)/.exec(deployed.stdout + deployed.stderr)?.[1] as string;
    const queue = new Queue("stubrun-schedules", { connection: { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null } });
    try {
      const schedulers = await queue.getJobSchedulers(0, -1);
      expect(schedulers.map((s) => ({ key: s.key, every: s.every }))).toContainEqual({ key: `${appId}:Ticker.tick`, every: 1000 });
      const logs = await waitUntil(
        async () => {
          const r = await server.run(["app", "logs", "queue-schedule"]);
          const calls = [...r.stderr.matchAll(/schedule: started Ticker\.tick as call (\S+)/g)].map((m) => m[1]);
          return calls.length >= 2 && (r.stdout.match(/^tick on a node$/gm) ?? []).length >= 2 && { calls };
        },
        { timeoutMs: 30_000, intervalMs: 300, what: "two scheduled runs in app logs" },
      );
      // Each tick started one call: no two lines name the same call.
      expect(new Set(logs.calls).size).toBe(logs.calls.length);
      // And recorded as the app's calls, succeeded.
      const recorded = await waitUntil(
        async () => {
          const calls = (await (await server.api(`/api/apps/${appId}/calls`)).json()) as { id: string; functionName: string; state: string }[];
          const first = calls.find((c) => c.id === logs.calls[0]);
          return first?.state === "succeeded" && first;
        },
        { what: "the first scheduled call to be recorded as succeeded" },
      );
      expect(recorded.functionName).toBe("Ticker.tick");

      expect((await server.run(["app", "stop", "queue-schedule", "--yes"])).code).toBe(0);
      await waitUntil(async () => (await queue.getJobSchedulers(0, -1)).every((s) => !s.key.startsWith(appId)), { what: "the app's job scheduler to leave Redis" });
      expect(await queue.getDelayedCount()).toBe(0);
    } finally {
      await queue.close();
    }
  });
});
