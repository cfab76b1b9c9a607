import fs from "node:fs";
import path from "node:path";
import { appList, withTestServer, TestServer, tempDir, waitUntil, writeFixture } from "./harness";

/**
 * SPEC §3 Schedules, through the real bin against a real server: "Schedules fire only for
 * deployed apps; a scheduled function takes no arguments (a clear error otherwise)." Each run
 * is recorded and its output is in `app logs`; stopping the app stops its schedule.
 *
 * The scheduled function prints a line (seen in `app logs`) and appends a line to a file in a
 * temp dir the test made, so runs can be counted whatever the logs show.
 */

function periodFixture(file: string, app: string, dir: string, entrypoint = ""): string {
  return writeFixture(
    file,
    `import { Stub, fn, Period } from "stubrun";
import fs from "node:fs";

const stub = new Stub(${JSON.stringify(app)});

class Sched {
  @stub.function({ schedule: new Period({ seconds: 2 }) })
  tick(): void {
    fs.appendFileSync(${JSON.stringify(path.join(dir, "runs"))}, new Date().toISOString() + "\\n");
    console.log("tick from the schedule in " + process.pid);
  }

  @stub.function()
  plain(x: number): number {
    return x + 1;
  }
${entrypoint}
}
`,
  );
}

function runsIn(dir: string): number {
  const file = path.join(dir, "runs");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("schedules", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("a deployed Period runs by itself; its runs and their output are in app logs; app stop stops it", async () => {
    const dir = tempDir("schedules");
    const file = periodFixture("schedules-period.ts", "schedules-period", dir);
    const deployed = await server.run(["deploy", file]);
    expect(deployed.stderr).not.toMatch(/Error/);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toMatch(/Sched\.tick\s+\(every 2 s\)/);

    // Several runs, each its own call, with their output in the app's logs.
    const logs = await waitUntil(
      async () => {
        const r = await server.run(["app", "logs", "schedules-period"]);
        const calls = new Set([...r.stderr.matchAll(/schedule: started Sched\.tick as call (\S+)/g)].map((m) => m[1]));
        const ticks = r.stdout.match(/^tick from the schedule in \d+$/gm) ?? [];
        return calls.size >= 3 && ticks.length >= 3 && { ...r, calls };
      },
      { timeoutMs: 40_000, intervalMs: 500, what: "three scheduled runs in app logs" },
    );
    expect(logs.code).toBe(0);
    expect(runsIn(dir)).toBeGreaterThanOrEqual(3);
    // The runs are spread over time, not fired all at once.
    const times = fs.readFileSync(path.join(dir, "runs"), "utf8").split("\n").filter(Boolean).map(Date.parse);
    expect(times[times.length - 1] - times[0]).toBeGreaterThanOrEqual(2_000);

    const app = (await appList(server)).find((a) => a.name === "schedules-period");
    expect(app).toMatchObject({ state: "deployed", functions: expect.arrayContaining(["Sched.tick", "Sched.plain"]) });

    const stopped = await server.run(["app", "stop", "schedules-period", "--yes"]);
    expect(stopped.code).toBe(0);
    expect((await appList(server)).find((a) => a.name === "schedules-period")?.state).toBe("stopped");

    // A run that was already under way when the app stopped may still land; after that, nothing.
    await sleep(1_000);
    const afterStop = runsIn(dir);
    await sleep(7_000); // more than three periods
    expect(runsIn(dir)).toBe(afterStop);
    const laterLogs = await server.run(["app", "logs", "schedules-period"]);
    const callsLater = new Set([...laterLogs.stderr.matchAll(/schedule: started Sched\.tick as call (\S+)/g)].map((m) => m[1]));
    expect(callsLater.size).toBeLessThanOrEqual(afterStop + 1);
  }, 90_000);

  test("a run that throws is recorded with its error and the schedule goes on; a redeploy re-arms it with the new code", async () => {
    const dir = tempDir("schedules");
    const source = (version: string, body: string) =>
      writeFixture(
        "schedules-redeploy.ts",
        `import { Stub, Period } from "stubrun";
import fs from "node:fs";

const stub = new Stub("schedules-redeploy");

class Sched {
  @stub.function({ schedule: new Period({ seconds: 2 }) })
  tick(): void {
    fs.appendFileSync(${JSON.stringify(path.join(dir, "runs"))}, ${JSON.stringify(version)} + "\\n");
    ${body}
  }
}
`,
      );
    expect(await server.run(["deploy", source("v1", 'throw new Error("boom from v1");')])).toMatchObject({ code: 0 });
    const lines = () => (fs.existsSync(path.join(dir, "runs")) ? fs.readFileSync(path.join(dir, "runs"), "utf8").split("\n").filter(Boolean) : []);
    await waitUntil(() => lines().length >= 2, { timeoutMs: 30_000, what: "two runs of v1" });
    const logs = await waitUntil(
      async () => {
        const r = await server.run(["app", "logs", "schedules-redeploy"]);
        return /boom from v1/.test(r.stdout + r.stderr) && r;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: "the failed run's error in app logs" },
    );
    expect(logs.code).toBe(0);

    const redeployed = await server.run(["deploy", source("v2", 'console.log("tick v2");')]);
    expect(redeployed.code).toBe(0);
    expect(redeployed.stdout).toMatch(/version 2/);
    await waitUntil(() => lines().filter((l) => l === "v2").length >= 2, { timeoutMs: 30_000, what: "two runs of v2" });
    await waitUntil(
      async () => /^tick v2$/m.test((await server.run(["app", "logs", "schedules-redeploy"])).stdout),
      { timeoutMs: 20_000, intervalMs: 500, what: "v2's output in app logs" },
    );
    // Once v2 runs, v1 does not come back (a redeploy replaces the schedule, it does not add one).
    await sleep(1_000);
    const firstV2 = lines().indexOf("v2");
    await sleep(5_000);
    expect(lines().slice(firstV2)).not.toContain("v1");
    expect(await server.run(["app", "stop", "schedules-redeploy", "--yes"])).toMatchObject({ code: 0 });
  }, 120_000);

  test("stubrun FILE (an ephemeral app) never fires the schedule", async () => {
    const dir = tempDir("schedules");
    const file = periodFixture(
      "schedules-ephemeral.ts",
      "schedules-ephemeral",
      dir,
      `
  @stub.localEntrypoint()
  async main() {
    console.log("plain says " + (await fn(this.plain).remote(1)));
    await new Promise((r) => setTimeout(r, 7000)); // more than three periods
    console.log("main done");
  }`,
    );
    const r = await server.run([file], { timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("plain says 2\nmain done\n");
    expect(r.stdout + r.stderr).not.toMatch(/tick from the schedule/);
    expect(runsIn(dir)).toBe(0);

    const id = /Created app (\S+)/.exec(r.stderr)?.[1];
    expect(id).toMatch(/^ap-/);
    const logs = await server.run(["app", "logs", id as string]);
    expect(logs.code).toBe(0);
    expect(logs.stdout + logs.stderr).not.toMatch(/schedule: started|tick from the schedule/);
  }, 90_000);

  test("a detached run does not fire the schedule either", async () => {
    const dir = tempDir("schedules");
    const file = periodFixture(
      "schedules-detached.ts",
      "schedules-detached",
      dir,
      `
  @stub.function()
  async wait(ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return "waited";
  }`,
    );
    const r = await server.run(["--detach", `${file}::Sched.wait`, "--ms", "7000"], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const id = /Created app (\S+)/.exec(r.stderr)?.[1] as string;
    await waitUntil(async () => (await appList(server)).find((a) => a.id === id)?.state === "stopped", {
      timeoutMs: 40_000,
      intervalMs: 500,
      what: "the detached app to stop after its call",
    });
    expect(runsIn(dir)).toBe(0);
  }, 90_000);

  test("a scheduled function that takes parameters is refused at deploy (exit 2), naming it and its parameters", async () => {
    const file = writeFixture(
      "schedules-params.ts",
      `import { Stub, Period } from "stubrun";

const stub = new Stub("schedules-params");

class Sched {
  @stub.function({ schedule: new Period({ minutes: 5 }) })
  report(day: string, verbose = false): void {
    console.log(day, verbose);
  }
}
`,
    );
    const r = await server.run(["deploy", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Sched\.report has a schedule, so it must take no arguments; it takes day, verbose/);
    expect(r.stderr).not.toMatch(/^\s+at /m); // a usage error, not a stack trace
    expect((await appList(server)).some((a) => a.name === "schedules-params")).toBe(false);
  });

  test("deploy lists each function's schedule", async () => {
    const file = writeFixture(
      "schedules-cron.ts",
      `import { Stub, Cron, Period } from "stubrun";

const stub = new Stub("schedules-cron");

class Sched {
  @stub.function({ schedule: new Cron("0 9 * * MON-FRI", { timezone: "Europe/Paris" }) })
  weekdays(): void {}

  @stub.function({ schedule: new Cron("*/5 * * * *") })
  often(): void {}

  @stub.function({ schedule: new Period({ hours: 1, minutes: 30 }) })
  slow(): void {}

  @stub.function({ schedule: new Cron("@daily") })
  nightly(): void {}

  @stub.function({ schedule: new Cron("0 18 * * FRI#1,5L") })
  fridays(): void {}
}
`,
    );
    const r = await server.run(["deploy", file]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Sched\.weekdays\s+\(cron "0 9 \* \* MON-FRI" Europe\/Paris\)/);
    expect(r.stdout).toMatch(/Sched\.often\s+\(cron "\*\/5 \* \* \* \*" UTC\)/);
    expect(r.stdout).toMatch(/Sched\.slow\s+\(every 5400 s\)/);
    // Nicknames, the nth and the last weekday of the month (croner).
    expect(r.stdout).toMatch(/Sched\.nightly\s+\(cron "@daily" UTC\)/);
    expect(r.stdout).toMatch(/Sched\.fridays\s+\(cron "0 18 \* \* FRI#1,5L" UTC\)/);
    expect(await server.run(["app", "stop", "schedules-cron", "--yes"])).toMatchObject({ code: 0 });
  });

  describe("a bad schedule fails when the file loads (exit 2, a clear error)", () => {
    test.each([
      ['new Cron("bad")', /new Cron\("bad"\).*5 fields/],
      ['new Cron("61 * * * *")', /new Cron\("61 \* \* \* \*"\).*minute "61"/],
      ['new Cron("0 9 * * *", { timezone: "Mars/Olympus_Mons" })', /unknown timezone "Mars\/Olympus_Mons"/],
      ['new Cron("0 0 30 2 *")', /new Cron\("0 0 30 2 \*"\).*never fires: February has no day 30/],
      ["new Period({ seconds: 0 })", /new Period\(.*at least 1 second/],
      ["new Period({ minutes: -5 })", /new Period\(.*at least 1 second/],
    ])("%s", async (schedule, message) => {
      const slug = schedule.replace(/[^a-z0-9]+/gi, "-").toLowerCase().slice(0, 40);
      const file = writeFixture(
        `schedules-bad-${slug}.ts`,
        `import { Stub, Cron, Period } from "stubrun";

const stub = new Stub("schedules-bad");

class Sched {
  @stub.function({ schedule: ${schedule} })
  tick(): void {}

  @stub.localEntrypoint()
  main() {
    console.log("main ran");
  }
}
`,
      );
      for (const args of [["deploy", file], [file]]) {
        const r = await server.run(args);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/^\s+at /m);
        expect(r.stdout).not.toMatch(/main ran/);
      }
      expect((await appList(server)).some((a) => a.name === "schedules-bad")).toBe(false);
    });
  });
});
