import fs from "node:fs";
import path from "node:path";
import { appById, pidAlive, ROOT, withTestServer, spawnBin, tempDir, TestServer, waitUntil, writeFixture } from "./harness";

/**
 * SPEC §2 "A worker serves one function..." and the function options `timeout`, `retries`,
 * `concurrencyLimit`, `keepWarm`, `containerIdleTimeout`; issue 3 points 4-6: workers behave like
 * containers (enter/exit hooks, reuse, idle exit), timeouts, retries with backoff, worker crashes
 * and cancel. Everything runs through the real bin against a real server. The fixture's
 * functions write pids, attempt counts and timestamps into DIR, a temp dir fixed in its source.
 */

const DIR = tempDir("containers");

// The fixture embeds DIR, so its name is unique to this jest process: a concurrent run of this
// file (another jest) must not rewrite it under this one.
const APP = writeFixture(
  `containers-app-${process.pid}.ts`,
  `import { Stub, fn } from "stubrun";
import fs from "node:fs";
import path from "node:path";

const DIR = ${JSON.stringify(DIR)};
const stub = new Stub("containers-app");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
async function until(check: () => boolean, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await sleep(50);
  }
}
/** Appends a line to DIR/name and returns how many lines it has: counts attempts across workers. */
function record(name: string, line: string | number): number {
  fs.appendFileSync(path.join(DIR, name), line + "\\n");
  return fs.readFileSync(path.join(DIR, name), "utf8").trim().split("\\n").length;
}
const lines = (name: string) => fs.existsSync(path.join(DIR, name)) ? fs.readFileSync(path.join(DIR, name), "utf8").trim().split("\\n").filter(Boolean) : [];

class Counter {
  calls = 0;
  entered = 0;

  @stub.enter()
  setUp() {
    this.entered++;
    console.log("Counter enter in " + process.pid);
  }

  @stub.exit()
  tearDown() {
    console.log("Counter exit in " + process.pid + " after " + this.calls + " calls");
  }

  @stub.function()
  count() {
    this.calls++;
    return { pid: process.pid, calls: this.calls, entered: this.entered };
  }

  @stub.localEntrypoint()
  async main(times = 4) {
    for (let i = 0; i < times; i++) console.log(JSON.stringify(await fn(this.count).remote()));
  }
}

class Idle {
  @stub.exit()
  tearDown() {
    console.log("Idle exit in " + process.pid);
  }

  @stub.function({ containerIdleTimeout: 1 })
  pid() {
    return process.pid;
  }

  @stub.localEntrypoint()
  async main() {
    const first = await fn(this.pid).remote();
    const idleSince = Date.now();
    await until(() => !alive(first), "the idle worker to exit");
    console.error("idle worker exited after " + (Date.now() - idleSince) + " ms");
    const second = await fn(this.pid).remote();
    console.log(JSON.stringify({ first, second }));
  }
}

class Warm {
  @stub.enter()
  setUp() {
    record("warm", process.pid);
  }

  @stub.function({ keepWarm: 2, containerIdleTimeout: 1 })
  pid() {
    return process.pid;
  }

  @stub.localEntrypoint()
  async main() {
    // No call yet: the test checks the warm workers while this waits.
    await until(() => fs.existsSync(path.join(DIR, "release-warm")), "release-warm", 40_000);
    const served = await fn(this.pid).remote();
    await sleep(2500); // well past containerIdleTimeout: keepWarm workers stay
    const again = await fn(this.pid).remote();
    console.log(JSON.stringify({ served, again, warm: lines("warm").map(Number), aliveAfterIdle: alive(served) }));
  }
}

class Limits {
  @stub.function({ concurrencyLimit: 1 })
  async single(x: number) {
    await sleep(200);
    return process.pid;
  }

  @stub.function()
  async wide(x: number) {
    await sleep(1000);
    return process.pid;
  }

  @stub.localEntrypoint()
  async main() {
    const single: number[] = [];
    for await (const pid of fn(this.single).map([1, 2, 3, 4, 5, 6])) single.push(pid);
    const wide: number[] = [];
    for await (const pid of fn(this.wide).map([1, 2, 3, 4, 5, 6])) wide.push(pid);
    console.log(JSON.stringify({ single: new Set(single).size, wide: new Set(wide).size, calls: single.length + wide.length }));
  }
}

class BadEnter {
  @stub.enter()
  setUp() {
    record("bad-enter", process.pid);
    throw new Error("the enter hook failed on purpose");
  }

  @stub.function()
  f() {
    return "unreachable";
  }

  @stub.localEntrypoint()
  async main() {
    for (let i = 1; i <= 2; i++) {
      try {
        await fn(this.f).remote();
        console.log("call " + i + " succeeded");
      } catch (e) {
        console.log("call " + i + " failed: " + (e as Error).name + ": " + (e as Error).message);
      }
    }
  }
}

class Hooks {
  @stub.enter()
  async setUp() {
    await sleep(1500); // longer than the timeout: the worker's start is not counted
  }

  @stub.exit()
  async tearDown() {
    await sleep(500);
    console.log("slow exit hook done in " + process.pid);
  }

  @stub.function({ timeout: 1 })
  pid() {
    return process.pid;
  }
}

class HungExit {
  @stub.exit()
  async tearDown() {
    console.log("hung exit hook started in " + process.pid);
    await new Promise(() => setInterval(() => {}, 1000));
  }

  @stub.function()
  pid() {
    return process.pid;
  }
}

class Faults {
  @stub.function({ timeout: 1 })
  async slow() {
    record("slow-pid", process.pid);
    await sleep(60_000);
    return "too late";
  }

  @stub.localEntrypoint()
  async timeoutMain() {
    try {
      await fn(this.slow).remote();
    } catch (e) {
      console.log((e as Error).name + ": " + (e as Error).message);
    }
    const pid = Number(lines("slow-pid").at(-1));
    await until(() => !alive(pid), "the timed out worker to be killed");
    console.log("worker killed");
  }

  @stub.function({ retries: 2 })
  flaky() {
    const n = record("flaky", Date.now());
    throw new Error("attempt " + n + " failed");
  }

  @stub.function({ retries: { maxRetries: 3, initialDelayMs: 200, backoffCoefficient: 3 } })
  backoff() {
    const n = record("backoff", Date.now());
    throw new Error("backoff attempt " + n + " failed");
  }

  @stub.function({ retries: { maxRetries: 3, initialDelayMs: 200, backoffCoefficient: 100, maxDelayMs: 500 } })
  capped() {
    const n = record("capped", Date.now());
    throw new Error("capped attempt " + n + " failed");
  }

  @stub.function({ retries: { maxRetries: 2, initialDelayMs: 0 } })
  crashOnce() {
    const n = record("crash-once", process.pid);
    if (n === 1) process.kill(process.pid, "SIGKILL");
    return "survived on attempt " + n;
  }

  @stub.function()
  async crash(how: "kill" | "exit" | "uncaught") {
    if (how === "kill") process.kill(process.pid, "SIGKILL");
    if (how === "exit") process.exit(3);
    setTimeout(() => {
      throw new Error("thrown outside the call");
    }, 10);
    await sleep(60_000);
  }

  @stub.function()
  async steady() {
    await sleep(1000);
    return "steady finished";
  }

  @stub.localEntrypoint()
  async neighbourMain() {
    const steady = await fn(this.steady).spawn();
    try {
      await fn(this.crash).remote("kill");
    } catch (e) {
      console.log("crash: " + (e as Error).message);
    }
    console.log(await steady.get());
  }

  @stub.function()
  async sleepy() {
    record("sleepy-pid", process.pid);
    await sleep(60_000);
    return "not cancelled";
  }

  @stub.localEntrypoint()
  async cancelMain() {
    const call = await fn(this.sleepy).spawn();
    await until(() => lines("sleepy-pid").length > 0, "the call to start");
    const pid = Number(lines("sleepy-pid")[0]);
    const cancelledAt = Date.now();
    await call.cancel();
    try {
      console.log(await call.get());
    } catch (e) {
      console.log("get: " + (e as Error).name + ": " + (e as Error).message);
    }
    await until(() => !alive(pid), "the cancelled call's worker to stop");
    console.log("worker stopped");
    console.error("cancel took " + (Date.now() - cancelledAt) + " ms");
    // The function still serves new calls afterwards, on a new worker.
    const next = await fn(this.sleepy).spawn();
    await until(() => lines("sleepy-pid").length > 1, "the next call to start");
    await next.cancel();
    console.log("next call ran in a new worker: " + (Number(lines("sleepy-pid")[1]) !== pid));
  }
}
`,
);

const read = (name: string) => (fs.existsSync(path.join(DIR, name)) ? fs.readFileSync(path.join(DIR, name), "utf8").trim().split("\n").filter(Boolean) : []);
const jsonLines = (text: string) => text.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));

let server: TestServer;
withTestServer(
  (s) => (server = s),
  () => fs.rmSync(path.join(ROOT, APP), { force: true }),
);

describe("workers as containers", () => {
  test("enter runs once per worker, one instance serves every call, exit runs when the app stops", async () => {
    const r = await server.run([`${APP}::Counter.main`, "--times", "4"]);
    expect(r.code).toBe(0);
    const results = jsonLines(r.stdout);
    expect(results).toHaveLength(4);
    const pid = results[0].pid;
    expect(results).toEqual([1, 2, 3, 4].map((calls) => ({ pid, calls, entered: 1 })));
    // The hooks' output reaches the client: enter before the first result, exit as the app stops.
    expect(r.stdout.match(/Counter enter in/g)).toHaveLength(1);
    expect(r.stdout.indexOf(`Counter enter in ${pid}\n`)).toBeLessThan(r.stdout.indexOf("{"));
    expect(r.stdout).toContain(`Counter exit in ${pid} after 4 calls\n`);
    expect(pidAlive(pid)).toBe(false);

    // And both are in the app's logs.
    const id = /Created app (\S+)/.exec(r.stderr)?.[1] as string;
    const logs = await server.run(["app", "logs", id]);
    expect(logs.stdout).toContain(`Counter enter in ${pid}\n`);
    expect(logs.stdout).toContain(`Counter exit in ${pid} after 4 calls\n`);
  });

  test("containerIdleTimeout: an idle worker exits (running its exit hook) and the next call gets a new one", async () => {
    const r = await server.run([`${APP}::Idle.main`]);
    expect(r.code).toBe(0);
    const [{ first, second }] = jsonLines(r.stdout);
    expect(second).not.toBe(first);
    expect(r.stdout).toContain(`Idle exit in ${first}\n`);
    const idleFor = Number(/idle worker exited after (\d+) ms/.exec(r.stderr)?.[1]);
    console.log(`containerIdleTimeout 1 s: the idle worker exited after ${idleFor} ms`);
    expect(idleFor).toBeLessThan(15_000);
  });

  test("keepWarm: workers start with the app, before any call, and stay past the idle timeout", async () => {
    fs.rmSync(path.join(DIR, "warm"), { force: true });
    const client = spawnBin(server, [`${APP}::Warm.main`]);
    const id = await client.appId();
    const warm = await waitUntil(() => (read("warm").length >= 2 ? read("warm").map(Number) : undefined), { what: "2 warm workers to run their enter hook" });
    await waitUntil(async () => (await appById(server, id)).runningTasks === 2, { what: "app list to show 2 running tasks" });
    expect(warm.every(pidAlive)).toBe(true);

    fs.writeFileSync(path.join(DIR, "release-warm"), "");
    const r = await client.exited;
    expect(r.code).toBe(0);
    const [result] = jsonLines(r.stdout);
    expect(warm).toContain(result.served);
    expect(warm).toContain(result.again);
    expect(result.aliveAfterIdle).toBe(true);
    // No worker beyond the warm ones was ever started.
    expect(result.warm.sort()).toEqual([...warm].sort());
  });

  test("concurrencyLimit: 1 runs a .map on a single worker (the default spreads it over several)", async () => {
    const r = await server.run([`${APP}::Limits.main`]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toEqual([{ single: 1, wide: expect.any(Number), calls: 12 }]);
    expect(jsonLines(r.stdout)[0].wide).toBeGreaterThan(1);
  });

  test("a failing enter hook fails the call with the hook's error, and its worker is never reused", async () => {
    const r = await server.run([`${APP}::BadEnter.main`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/call 1 failed: WorkerStartError: .*the enter hook failed on purpose/);
    expect(r.stdout).toMatch(/call 2 failed: WorkerStartError: .*the enter hook failed on purpose/);
    const pids = read("bad-enter").map(Number);
    expect(pids).toHaveLength(2);
    expect(pids[0]).not.toBe(pids[1]);

    // Run as the entrypoint itself: exit 1, with the hook's error on stderr.
    const direct = await server.run([`${APP}::BadEnter.f`]);
    expect(direct.stderr).toContain("the enter hook failed on purpose");
    expect(direct.code).toBe(1);
  });
});

describe("exit hooks", () => {
  test("an exit hook gets a grace period, and the worker's start does not count against the timeout", async () => {
    const r = await server.run([`${APP}::Hooks.pid`]);
    expect(r.code).toBe(0);
    const pid = Number(r.stdout.split("\n")[0]);
    expect(r.stdout).toBe(`${pid}\nslow exit hook done in ${pid}\n`);
    expect(pidAlive(pid)).toBe(false);
  });

  test("an exit hook that never ends is cut off after the grace period: the run still ends and the worker is killed", async () => {
    const started = Date.now();
    const r = await server.run([`${APP}::HungExit.pid`]);
    const took = Date.now() - started;
    console.log(`a hung exit hook: stubrun FILE took ${took} ms`);
    expect(r.code).toBe(0);
    const pid = Number(r.stdout.split("\n")[0]);
    expect(r.stdout).toContain(`hung exit hook started in ${pid}\n`);
    expect(pidAlive(pid)).toBe(false);
    expect(took).toBeLessThan(30_000);
  });
});

describe("timeouts, retries, crashes and cancel", () => {
  test("timeout: the call fails saying it timed out after N s, and its worker is killed", async () => {
    const r = await server.run([`${APP}::Faults.timeoutMain`]);
    expect(r.stdout).toMatch(/^FunctionTimeoutError: Faults\.slow timed out after 1 s\b.*\nworker killed\n$/);
    expect(r.code).toBe(0);

    const direct = await server.run([`${APP}::Faults.slow`]);
    expect(direct.stderr).toContain("timed out after 1 s");
    expect(direct.stdout).toBe("");
    expect(direct.code).toBe(1);
  });

  test("retries: 2 makes 3 attempts, and the caller gets the last attempt's error", async () => {
    const r = await server.run([`${APP}::Faults.flaky`]);
    expect(r.code).toBe(1);
    expect(read("flaky")).toHaveLength(3);
    expect(r.stderr.match(/retrying in \d+ ms/g)).toHaveLength(2);
    expect(r.stderr).toContain("attempt 3 failed");
    // The final error is the third attempt's, with its remote stack.
    const final = r.stderr.slice(r.stderr.lastIndexOf("retrying in"));
    expect(final).toMatch(/Error: attempt 3 failed\n\s+at /);
    expect(final).not.toMatch(/attempt [12] failed/);
  });

  test("retries with backoff: the waits between attempts grow by backoffCoefficient, up to maxDelayMs", async () => {
    const gaps = (name: string) => {
      const times = read(name).map(Number);
      return times.slice(1).map((t, i) => t - times[i]);
    };
    const backoff = await server.run([`${APP}::Faults.backoff`]);
    expect(backoff.code).toBe(1);
    expect(backoff.stderr).toContain("backoff attempt 4 failed");
    expect(backoff.stderr).toMatch(/retrying in 200 ms[^]*retrying in 600 ms[^]*retrying in 1800 ms/);
    const b = gaps("backoff");
    console.log(`backoff 200 ms x3: gaps between attempts ${b.join(", ")} ms`);
    expect(b).toHaveLength(3);
    [200, 600, 1800].forEach((delay, i) => {
      expect(b[i]).toBeGreaterThanOrEqual(delay - 20);
      expect(b[i]).toBeLessThan(delay + 10_000);
    });

    const capped = await server.run([`${APP}::Faults.capped`]);
    expect(capped.code).toBe(1);
    expect(capped.stderr).toMatch(/retrying in 200 ms[^]*retrying in 500 ms[^]*retrying in 500 ms/);
    const c = gaps("capped");
    console.log(`backoff 200 ms x100, max 500 ms: gaps between attempts ${c.join(", ")} ms`);
    expect(c).toHaveLength(3);
    [200, 500, 500].forEach((delay, i) => {
      expect(c[i]).toBeGreaterThanOrEqual(delay - 20);
      expect(c[i]).toBeLessThan(10_000); // uncapped, the second wait alone would be 20 s
    });
  });

  test("a worker killed mid-call is retried on a new worker and the call succeeds", async () => {
    const r = await server.run([`${APP}::Faults.crashOnce`]);
    expect(r.stdout).toBe("survived on attempt 2\n");
    expect(r.stderr).toMatch(/attempt 1 failed \(.*worker exited with signal SIGKILL.*\); retrying/);
    expect(r.code).toBe(0);
    const pids = read("crash-once");
    expect(pids).toHaveLength(2);
    expect(pids[1]).not.toBe(pids[0]);
  });

  test.each([
    ["kill", "signal SIGKILL"],
    ["exit", "code 3"],
    ["uncaught", "code 1"],
  ])("a worker that dies mid-call (%s) without retries fails the call: worker exited with %s", async (how, description) => {
    const r = await server.run([`${APP}::Faults.crash`, "--how", how]);
    expect(r.stderr).toContain(`worker exited with ${description}`);
    expect(r.code).toBe(1);
    expect(server.alive).toBe(true);
  });

  test("a worker crash disturbs nothing else: a call running beside it finishes", async () => {
    const r = await server.run([`${APP}::Faults.neighbourMain`]);
    expect(r.stdout).toMatch(/^crash: .*worker exited with signal SIGKILL.*\nsteady finished\n$/);
    expect(r.code).toBe(0);
  });

  test("call.cancel() stops a running call: get() rejects as cancelled and its worker is stopped", async () => {
    const r = await server.run([`${APP}::Faults.cancelMain`]);
    expect(r.stdout).toMatch(/^get: CallCancelledError: .*cancelled.*\nworker stopped\nnext call ran in a new worker: true\n$/);
    expect(r.code).toBe(0);
    console.log(`call.cancel(): ${/cancel took \d+ ms/.exec(r.stderr)?.[0]}`);
  });
});
