import fs from "node:fs";
import path from "node:path";
import { BinProcess, pidAlive, removeTempDirs, runBin, tempDir, TestServer, waitUntil } from "./harness";

/** One server per STUBRUN_HOME: a second would share the first one's database and pid file. */
describe("a second server on the same STUBRUN_HOME", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test("is refused (exit 2), naming the running one; the first keeps serving", async () => {
    const r = await runBin(["server", "--port", "0"], { env: server.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/another stubrun server \(pid \d+, http:\/\/127\.0\.0\.1:\d+\) already uses STUBRUN_HOME=/);
    expect(server.alive).toBe(true);
    expect((await server.run(["examples/hello.ts"])).stdout).toBe("Hello world!\n");
  });
});

/**
 * Issue 7 point 8: the check ran before listen and the pid file was written after, so two servers
 * started at once both ran. The lock file (O_EXCL, holding the pid) is taken before the database opens.
 */
describe("the home's lock", () => {
  afterEach(() => BinProcess.killAll());
  afterAll(() => removeTempDirs());

  const serverIn = (home: string) => new BinProcess(["server", "--port", "0"], { ...process.env, STUBRUN_HOME: home });

  test("two servers started on one home at the same moment: exactly one runs, the other exits 2 saying so", async () => {
    for (let round = 0; round < 3; round++) {
      const home = tempDir("lock");
      const both = [serverIn(home), serverIn(home)];
      const loser = await Promise.race(both.map((p) => p.exited.then(() => p)));
      const winner = both.find((p) => p !== loser) as BinProcess;
      const lost = await loser.exited;
      expect({ code: lost.code, stderr: lost.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(/another stubrun server \(pid \d+, .*\) already uses STUBRUN_HOME=/) });
      await winner.waitFor(/listening on http:\/\/\S+/);
      expect(winner.running).toBe(true);
      expect(fs.readFileSync(path.join(home, "server.lock"), "utf8").trim()).toBe(String(winner.pid));
      winner.signal("SIGTERM");
      expect((await winner.exited).code).toBe(0);
      expect(fs.existsSync(path.join(home, "server.lock"))).toBe(false); // released on exit
    }
  });

  test("a lock left by a server killed with -9 does not stop the next one", async () => {
    const home = tempDir("lock-stale");
    const first = serverIn(home);
    await first.waitFor(/listening on/);
    first.signal("SIGKILL");
    await first.exited;
    expect(pidAlive(first.pid)).toBe(false);
    expect(fs.readFileSync(path.join(home, "server.lock"), "utf8").trim()).toBe(String(first.pid));

    const second = serverIn(home);
    await second.waitFor(/listening on/);
    await waitUntil(() => fs.readFileSync(path.join(home, "server.lock"), "utf8").trim() === String(second.pid), { what: "the new server's pid in the lock" });
    second.signal("SIGTERM");
    expect((await second.exited).code).toBe(0);
  });
});
