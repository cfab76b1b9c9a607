import fs from "node:fs";
import path from "node:path";
import { appById, spawnBin, tempDir, withTestServer, writeFixture, type TestServer } from "./harness";
import { QUEUE_MODE } from "./queue-mode-env";

/**
 * Issue 12 item 7: `@stub.function({ concurrentInputs: N })` lets one worker serve up to N calls
 * at once, each call's output (stdout, stderr, from timers too) still its own.
 */
const APP = writeFixture(
  "concurrent-inputs.ts",
  `import fs from "node:fs";
import { Stub, fn } from "stubrun";
const stub = new Stub("concurrent-inputs");

class Io {
  @stub.function({ concurrentInputs: 10 })
  async fetch(id: number) {
    console.log("start " + id);
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        process.stderr.write("waited " + id + "\\n");
        resolve();
      }, 300),
    );
    console.log("end " + id);
    return { id, worker: process.pid };
  }

  @stub.localEntrypoint()
  async main() {
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const calls = await Promise.all(ids.map((id) => fn(this.fetch).spawn(id)));
    const results = await Promise.all(calls.map((call) => call.get()));
    console.log(JSON.stringify({ calls: calls.map((c) => c.id), results }));
    // Kept alive until the test has looked at the app's workers.
    while (!fs.existsSync(process.env.GO_FILE!)) await new Promise((r) => setTimeout(r, 50));
  }

  @stub.function({ concurrentInputs: 2, timeout: 4, concurrencyLimit: 1 })
  async nap(ms: number) {
    console.log("napping " + ms);
    await new Promise((r) => setTimeout(r, ms));
    console.log("woke " + ms);
    return process.pid;
  }

  @stub.localEntrypoint()
  async timeouts() {
    // long times out at 4 s while short (2 s to 5 s) runs beside it on the same worker.
    const long = fn(this.nap).remote(10_000).catch((e: Error) => e.name + ": " + e.message);
    await new Promise((r) => setTimeout(r, 2_000));
    const short = await fn(this.nap).remote(3_000);
    console.log("long: " + (await long));
    const after = await fn(this.nap).remote(10);
    console.log(after === short ? "same worker after the timeout" : "a new worker after the timeout");
  }
}
`,
);

describe("concurrent inputs", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("10 calls that each sleep 300 ms run at once on one worker, each call's output its own", async () => {
    const go = path.join(tempDir("concurrent-inputs"), "go");
    const bin = spawnBin(server, [`${APP}::Io.main`], { env: { GO_FILE: go } });
    const appId = await bin.appId();
    const line = (await bin.waitFor(/^\{"calls".*$/m, "stdout"))[0];
    const { calls, results } = JSON.parse(line) as { calls: string[]; results: { id: number; worker: number }[] };
    expect(results.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    if (!QUEUE_MODE) {
      // One worker served them all (with worker nodes, each node that took some has its own).
      expect(new Set(results.map((r) => r.worker)).size).toBe(1);
      expect((await appById(server, appId)).runningTasks).toBe(1);
    }
    // Each call's log holds its own lines, and only those.
    const logs = (await (await server.api(`/api/apps/${appId}/logs?limit=1000`)).json()) as { callId: string | null; stream: string; data: string }[];
    calls.forEach((callId, i) => {
      const own = logs.filter((entry) => entry.callId === callId);
      const id = i + 1;
      expect(own.filter((e) => e.stream === "stdout").map((e) => e.data).join("")).toBe(`start ${id}\nend ${id}\n`);
      expect(own.filter((e) => e.stream === "stderr").map((e) => e.data).join("")).toBe(`waited ${id}\n`);
    });
    // They overlapped: every call started before the first one ended.
    const out = bin.stdout;
    expect(Math.max(...calls.map((_, i) => out.indexOf(`start ${i + 1}\n`)))).toBeLessThan(out.indexOf("end "));
    fs.writeFileSync(go, "");
    const r = await bin.exited;
    expect(r.code).toBe(0);
  });

  test("a call that times out on a shared worker ends alone; the other finishes, then the worker goes", async () => {
    const r = await server.run(["-q", `${APP}::Io.timeouts`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("long: FunctionTimeoutError: Io.nap timed out after 4 s (its timeout option)\n");
    expect(r.stdout).toContain("woke 3000\n");
    expect(r.stdout).not.toContain("woke 10000");
    // In queue mode the short call may have run on the other node's worker (a node with no idle
    // worker of the function starts its own), which is still idle and serves the next: only the
    // embedded pool promises that both shared one worker (docs/scaling-out.md).
    if (!QUEUE_MODE) expect(r.stdout).toContain("a new worker after the timeout\n");
  });

  test("concurrentInputs is checked when the decorator is applied (1 to 1000)", async () => {
    for (const [value, problem] of [["0", "must be a whole number >= 1, got 0"], ["1001", "must be at most 1000, got 1001"], ['"5"', 'must be a whole number >= 1, got "5"']]) {
      const bad = writeFixture(
        "concurrent-inputs-bad.ts",
        `import { Stub } from "stubrun";
const stub = new Stub();
class Bad {
  @stub.function({ concurrentInputs: ${value} } as any)
  f() {}
}
`,
      );
      const r = await server.run([bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`@stub.function() on Bad.f: "concurrentInputs" ${problem}`);
    }
  });
});
