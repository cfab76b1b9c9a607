import fs from "node:fs";
import path from "node:path";
import { appById, pidAlive, withTestServer, spawnBin, tempDir, TestServer, waitUntil, writeFixture, type AppJson } from "./harness";

/**
 * SPEC §3 "Ephemeral app lifecycle", through the real bin against a real server: an app is
 * `ephemeral` while `stubrun FILE` runs and `stopped` by the time it has exited, however it ends
 * (success, error, Ctrl-C, kill -9, a silent client); `--detach` leaves it `detached` until its
 * last call ends. The function records its worker's pid in a temp dir and waits for the test to
 * create a `release-LABEL` file, so every state is observed while it holds, without timing guesses.
 */

const APP = writeFixture(
  "lifecycle-app.ts",
    `import { Stub, fn } from "stubrun";
import fs from "node:fs";
import path from "node:path";

const stub = new Stub("lifecycle-app");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Life {
  /** Records its worker's pid, then holds until the test creates release-LABEL in dir. */
  @stub.function()
  async hold(dir: string, label: string): Promise<string> {
    fs.writeFileSync(path.join(dir, "pid-" + label), String(process.pid));
    console.log(label + " started in its worker");
    while (!fs.existsSync(path.join(dir, "release-" + label))) await sleep(50);
    console.log(label + " released");
    return label + " done";
  }

  @stub.localEntrypoint()
  async main(dir: string, mode: "ok" | "fail" | "detach" = "ok") {
    if (mode === "detach") {
      const call = await fn(this.hold).spawn(dir, "spawned");
      console.log("spawned " + call.id);
      return;
    }
    console.log(await fn(this.hold).remote(dir, "main"));
    if (mode === "fail") throw new Error("the entrypoint failed on purpose");
  }
}
`,
);

/** Waits for the worker of `label` to record its pid, and returns it. */
function workerPid(dir: string, label: string, timeoutMs = 30_000): Promise<number> {
  return waitUntil(
    () => {
      const file = path.join(dir, `pid-${label}`);
      return fs.existsSync(file) && fs.readFileSync(file, "utf8") ? Number(fs.readFileSync(file, "utf8")) : undefined;
    },
    { timeoutMs, what: `the worker of ${label} to start` },
  );
}

/** The app as the server's API shows it: polled fast where a duration is measured. */
async function apiApp(server: TestServer, id: string): Promise<AppJson> {
  const res = await server.api(`/api/apps/${id}`);
  return (await res.json()) as AppJson;
}

describe("ephemeral app lifecycle", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("ephemeral while `stubrun FILE` runs, stopped by the time it exits with 0", async () => {
    const dir = tempDir("lifecycle");
    const client = spawnBin(server, [APP, "--dir", dir]);
    const id = await client.appId();
    const pid = await workerPid(dir, "main");

    // Nodes report their workers every 250 ms (queue mode): the count may lag the worker's start.
    const running = await waitUntil(async () => {
      const app = await appById(server, id);
      return app.runningTasks >= 1 && app;
    }, { what: "the app to count its running worker" });
    expect(running).toMatchObject({ id, name: "lifecycle-app", state: "ephemeral", version: 1, functions: ["Life.hold"], stoppedAt: null });

    fs.writeFileSync(path.join(dir, "release-main"), "");
    const r = await client.exited;
    expect(r.stdout).toBe("main started in its worker\nmain released\nmain done\n");
    expect(r.code).toBe(0);

    const stopped = await appById(server, id);
    expect(stopped.state).toBe("stopped");
    expect(stopped.stoppedAt).not.toBeNull();
    expect(stopped.runningTasks).toBe(0);
    expect(pidAlive(pid)).toBe(false);
  });

  test("an entrypoint that throws: exit 1, and the app is already stopped", async () => {
    const dir = tempDir("lifecycle");
    const client = spawnBin(server, [APP, "--dir", dir, "--mode", "fail"]);
    const id = await client.appId();
    const pid = await workerPid(dir, "main");
    expect((await appById(server, id)).state).toBe("ephemeral");

    fs.writeFileSync(path.join(dir, "release-main"), "");
    const r = await client.exited;
    expect(r.stderr).toContain("the entrypoint failed on purpose");
    expect(r.code).toBe(1);
    expect((await appById(server, id)).state).toBe("stopped");
    expect(pidAlive(pid)).toBe(false);
  });

  test.each([
    ["a local entrypoint", (dir: string) => [APP, "--dir", dir]],
    ["a function run as the entrypoint", (dir: string) => [`${APP}::Life.hold`, "--dir", dir, "--label", "main"]],
  ])("Ctrl-C during %s: a line says the app is stopping, exit 130, the app is stopped and its worker gone", async (_what, args) => {
    const dir = tempDir("lifecycle");
    const client = spawnBin(server, args(dir));
    const id = await client.appId();
    const pid = await workerPid(dir, "main");
    expect((await appById(server, id)).state).toBe("ephemeral");

    client.signal("SIGINT");
    const r = await client.exited;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(new RegExp(`stopping app ${id}`));
    expect(r.stdout).not.toContain("main released");
    expect((await appById(server, id)).state).toBe("stopped");
    expect(pidAlive(pid)).toBe(false);
  });

  test("kill -9 of the client: the server stops the app at once and kills its worker", async () => {
    const dir = tempDir("lifecycle");
    const client = spawnBin(server, [APP, "--dir", dir]);
    const id = await client.appId();
    const pid = await workerPid(dir, "main");
    expect((await apiApp(server, id)).state).toBe("ephemeral");

    const killedAt = Date.now();
    client.signal("SIGKILL");
    await waitUntil(async () => (await apiApp(server, id)).state === "stopped", { timeoutMs: 15_000, intervalMs: 10, what: `app ${id} to stop` });
    const stoppedAfter = Date.now() - killedAt;
    await waitUntil(() => !pidAlive(pid), { timeoutMs: 15_000, intervalMs: 10, what: `worker ${pid} to exit` });
    const workerGoneAfter = Date.now() - killedAt;
    console.log(`kill -9 of the client: app stopped after ${stoppedAfter} ms, its worker gone after ${workerGoneAfter} ms`);

    expect(await client.exited).toMatchObject({ signal: "SIGKILL" });
    const app = await appById(server, id);
    expect(app.state).toBe("stopped");
    expect(app.runningTasks).toBe(0);
    // The contract: a closed connection stops the app at once, well inside the heartbeat timeout.
    expect(workerGoneAfter).toBeLessThan(10_000);
  });

  test("a silent client (SIGSTOP: no heartbeats) has its app stopped within the heartbeat timeout", async () => {
    const dir = tempDir("lifecycle");
    const client = spawnBin(server, [APP, "--dir", dir]);
    const id = await client.appId();
    const pid = await workerPid(dir, "main");
    expect((await apiApp(server, id)).state).toBe("ephemeral");

    const silentAt = Date.now();
    client.signal("SIGSTOP");
    try {
      await waitUntil(async () => (await apiApp(server, id)).state === "stopped", { timeoutMs: 30_000, intervalMs: 50, what: `app ${id} to stop` });
      const stoppedAfter = Date.now() - silentAt;
      await waitUntil(() => !pidAlive(pid), { timeoutMs: 15_000, intervalMs: 20, what: `worker ${pid} to exit` });
      const workerGoneAfter = Date.now() - silentAt;
      console.log(`silent client (SIGSTOP): app stopped after ${stoppedAfter} ms, its worker gone after ${workerGoneAfter} ms`);
      expect((await appById(server, id)).state).toBe("stopped");
      // SPEC: within 10 s of the last heartbeat; heartbeats come every 2 s, the server checks every second.
      expect(stoppedAfter).toBeLessThan(13_000);
    } finally {
      client.signal("SIGKILL");
      client.signal("SIGCONT");
      await client.exited;
    }
  });

  test("a client that waits quietly for longer than the heartbeat timeout keeps its app", async () => {
    const dir = tempDir("lifecycle");
    const client = spawnBin(server, [APP, "--dir", dir]);
    const id = await client.appId();
    const pid = await workerPid(dir, "main");
    await new Promise((r) => setTimeout(r, 13_000)); // more than HEARTBEAT_TIMEOUT_MS without any call traffic
    expect((await appById(server, id)).state).toBe("ephemeral");
    expect(pidAlive(pid)).toBe(true);

    fs.writeFileSync(path.join(dir, "release-main"), "");
    const r = await client.exited;
    expect(r.stdout).toContain("main done\n");
    expect(r.code).toBe(0);
    expect((await appById(server, id)).state).toBe("stopped");
  });

  test("--detach: the app is detached, its spawned call outlives the client, and it stops after its last call", async () => {
    const dir = tempDir("lifecycle");
    const r = await server.run(["--detach", APP, "--dir", dir, "--mode", "detach"]);
    expect(r.code).toBe(0);
    // (the spawned call's own output may or may not reach the client before it exits)
    expect(r.stdout).toMatch(/^spawned \S+\n/);
    const id = /Created app (\S+)/.exec(r.stderr)?.[1] as string;
    expect(id).toBeDefined();
    // The CLI's last lines say how to follow the app and how to stop it.
    const last = r.stderr.trimEnd().split("\n").slice(-2).join("\n");
    expect(last).toContain(`app logs ${id}`);
    expect(last).toContain(`app stop ${id}`);

    const pid = await workerPid(dir, "spawned");
    const detached = await appById(server, id);
    expect(detached.state).toBe("detached");
    expect(detached.runningTasks).toBeGreaterThanOrEqual(1);
    expect(pidAlive(pid)).toBe(true);

    const logs = async () => (await server.run(["app", "logs", id])).stdout;
    await waitUntil(async () => (await logs()).includes("spawned started in its worker\n"), { what: "the spawned call's first line in app logs" });
    expect((await appById(server, id)).state).toBe("detached");

    fs.writeFileSync(path.join(dir, "release-spawned"), "");
    await waitUntil(async () => (await appById(server, id)).state === "stopped", { what: `detached app ${id} to stop after its last call` });
    expect(await logs()).toContain("spawned started in its worker\nspawned released\n");
    await waitUntil(() => !pidAlive(pid), { timeoutMs: 10_000, what: `worker ${pid} to exit` });
  });

  test("--detach with Ctrl-C: the app is left detached, and `app stop` stops it", async () => {
    const dir = tempDir("lifecycle");
    const client = spawnBin(server, ["--detach", APP, "--dir", dir]);
    const id = await client.appId();
    const pid = await workerPid(dir, "main");
    expect((await appById(server, id)).state).toBe("detached");

    client.signal("SIGINT");
    const r = await client.exited;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(id);
    // The call it started keeps running on the server.
    expect((await appById(server, id)).state).toBe("detached");
    expect(pidAlive(pid)).toBe(true);

    const stop = await server.run(["app", "stop", id]);
    expect(stop.code).toBe(0);
    expect((await appById(server, id)).state).toBe("stopped");
    await waitUntil(() => !pidAlive(pid), { timeoutMs: 10_000, what: `worker ${pid} to exit` });
  });
});
