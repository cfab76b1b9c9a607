import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { appList, ROOT, spawnBin, TestServer, waitUntil, writeFixture } from "./harness";
import { QUEUE_MODE } from "./queue-mode-env";

/**
 * Issue 14 item 7 / issue 15 item 2: `memory` and `cpu` per function. A worker past its memory
 * is killed and its call fails naming the limit, while the server and other apps go on; a
 * function with `cpu: 2` on a 2-core machine runs one worker at a time whatever its
 * concurrencyLimit; both show on the apps page.
 */

const HOG = writeFixture(
  "resources-hog.ts",
  `import { Stub } from "stubrun";
const stub = new Stub("resources-hog", { memory: 512 });
class Hog {
  @stub.function({ memory: 256 })
  hog(): number {
    const keep: number[][] = [];
    for (;;) keep.push(new Array(1_000_000).fill(1));
  }

  /** Memory outside the JS heap (Buffers): only a resident limit (a cgroup) stops it. */
  @stub.function({ memory: 256 })
  buffers(): number {
    const keep: Buffer[] = [];
    for (let i = 0; i < 64; i++) keep.push(Buffer.alloc(16 * 1024 * 1024, 1));
    return keep.length;
  }

  @stub.function()
  fine(): string {
    return "still serving";
  }
}
`,
);

const OTHER = writeFixture(
  "resources-other.ts",
  `import { Stub } from "stubrun";
const stub = new Stub("resources-other");
class Other {
  @stub.function()
  hello(): string {
    return "other app serving";
  }
}
`,
);

const CPU = writeFixture(
  "resources-cpu.ts",
  `import { fn, Stub } from "stubrun";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
const stub = new Stub("resources-cpu");
class Heavy {
  /** Waits until the test removes its file: a worker stays busy while the test looks. */
  @stub.function({ cpu: 2, concurrencyLimit: 4 })
  hold(flag: string, i: number): number {
    while (fs.existsSync(flag)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    return i;
  }

  @stub.localEntrypoint()
  async main(flag: string): Promise<void> {
    const results: number[] = [];
    for await (const r of fn(this.hold).starmap([[flag, 1], [flag, 2], [flag, 3]])) results.push(r);
    console.log(JSON.stringify(results));
  }
}
`,
);

const HAS_BWRAP = spawnSync("bwrap", ["--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "true"]).status === 0;

describe.each(HAS_BWRAP ? ["off", "on"] : ["off"])("memory per function (STUBRUN_SANDBOX=%s)", (sandbox) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ env: { STUBRUN_SANDBOX: sandbox } });
  });
  afterAll(() => server.stop());

  test("the server says at start how the memory option is enforced", () => {
    // With worker nodes, each node says it for its own workers.
    if (!QUEUE_MODE) expect(server.log).toMatch(/stubrun server: the memory option (is a resident limit \(cgroup v[12]|caps each worker's V8 heap only)/);
  });

  test("a function past its memory fails naming the limit, and the server and other apps go on", async () => {
    const r = await server.run([`${HOG}::Hog.hog`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Hog.hog: the worker used more than its memory of 256 MiB (memory option) while running the call, and was killed");
    expect(server.alive).toBe(true);
    // The same app's other function (the stub's memory, 512 MiB) and another app still serve.
    expect((await server.run([`${HOG}::Hog.fine`])).stdout).toBe("still serving\n");
    expect((await server.run([`${OTHER}::Other.hello`])).stdout).toBe("other app serving\n");
  });

  test("where the server has cgroups, memory outside the heap is limited too", async () => {
    if (QUEUE_MODE || !server.log.includes("the memory option is a resident limit")) return; // the heap cap alone cannot see Buffers
    const r = await server.run([`${HOG}::Hog.buffers`]);
    expect(r.stderr).toContain("Hog.buffers: the worker used more than its memory of 256 MiB (memory option) while running the call, and was killed");
    expect((await server.run([`${HOG}::Hog.fine`])).stdout).toBe("still serving\n");
  });

  test("the apps page shows each function's memory and cpu", async () => {
    const deploy = await server.run(["deploy", HOG]);
    expect(deploy.code).toBe(0);
    const app = (await appList(server)).find((a) => a.name === "resources-hog" && a.state !== "stopped");
    const page = await (await fetch(`${server.url}/apps/${app?.id}`, { headers: server.authHeaders })).text();
    expect(page).toMatch(/Hog\.hog<\/td>.*?<td class="resources">memory 256 MiB<\/td>/);
    expect(page).toMatch(/Hog\.fine<\/td>.*?<td class="resources">memory 512 MiB<\/td>/);
    await server.run(["app", "stop", "resources-hog"]);
  });
});

// With worker nodes each node has its own cores (stubrun worker --cpus): two nodes run two such workers.
(QUEUE_MODE ? describe.skip : describe)("cpu per function", () => {
  let server: TestServer;
  beforeAll(async () => {
    // The machine's cores are what the dispatcher shares out; this test pretends to have 2 (see cpu-budget.ts).
    server = await TestServer.start({ env: { STUBRUN_CPUS: "2" } });
  });
  afterAll(() => server.stop());

  test("cpu: 2 with concurrencyLimit 4 on 2 cores runs one worker at a time", async () => {
    const flag = path.join(ROOT, writeFixture("resources-cpu.flag", "hold")); // absolute: the worker runs in its code's folder
    const run = spawnBin(server, [CPU, "--flag", flag]);
    const appId = await run.appId();
    // Once the first worker runs a call, the dispatcher has placed what it will (with no cpu option
    // it would start a worker per waiting call right then): it holds both cores, so it stays alone.
    const workers = async () => (await (await server.api(`/api/apps/${appId}/workers`)).json()) as { callId: string | null }[];
    await waitUntil(async () => (await workers()).some((w) => w.callId !== null));
    expect(await workers()).toHaveLength(1);
    expect(((await (await server.api(`/api/apps/${appId}`)).json()) as { runningTasks: number }).runningTasks).toBe(1);
    fs.rmSync(flag);
    const [stdout] = await run.waitFor(/\[1,2,3\]/, "stdout", 60_000);
    expect(stdout).toBe("[1,2,3]");
  });
});
