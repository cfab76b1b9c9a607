import fs from "node:fs";
import path from "node:path";
import { removeTempDirs, TestServer, waitUntil, writeFixture } from "./harness";
import { QUEUE_MODE } from "./queue-mode-env";

/**
 * Issue 11 item 4: workers started ahead (`limits.prestartedWorkers`) with no code become a
 * function's worker on its first call: with the function's environment alone (its secrets, none
 * of the server's), at the root of its code; a taken one is replaced. Real bin, real server.
 */

const APP = writeFixture(
  "prestarted-app.ts",
  `import { fn, Secret, Stub } from "stubrun";

const stub = new Stub("prestarted-app");

class Prestarted {
  @stub.function({ secrets: [Secret.fromObject({ PRE_SECRET: "s3cret" })] })
  where() {
    return {
      pid: process.pid,
      secret: process.env.PRE_SECRET ?? null,
      leak: process.env.SERVER_ONLY ?? null,
      plumbing: process.env.STUBRUN_WORKER_CONFIG ?? null,
      appId: process.env.STUBRUN_APP_ID ?? null,
      cwd: process.cwd(),
    };
  }

  @stub.localEntrypoint()
  async main() {
    console.log(JSON.stringify(await fn(this.where).remote()));
  }
}
`,
);

interface Where {
  pid: number;
  secret: string | null;
  leak: string | null;
  plumbing: string | null;
  appId: string | null;
  cwd: string;
}

/** Worker processes of the server (its children running the worker's main). */
function workerChildren(server: TestServer): number[] {
  const serverPid = (JSON.parse(fs.readFileSync(path.join(server.home, "server.pid"), "utf8")) as { pid: number }).pid;
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === serverPid && fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("worker")) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

afterAll(() => removeTempDirs());

// Queue mode's calls run on worker nodes, which start their workers for each function.
const local = QUEUE_MODE ? describe.skip : describe;

local("workers started ahead", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ env: { SERVER_ONLY: "the server's own" } });
  });
  afterAll(() => server.stop());

  test("the first call takes one: the function's environment only (its secret, not the server's), at the root of its code; it is replaced", async () => {
    await waitUntil(() => workerChildren(server).length === 2, { what: "2 workers started ahead" });
    const ahead = workerChildren(server);
    const r = await server.run([APP]);
    expect(r.code).toBe(0);
    const where = JSON.parse(r.stdout.trim().split("\n").pop() as string) as Where;
    expect(ahead).toContain(where.pid);
    expect(where).toMatchObject({ secret: "s3cret", leak: null, plumbing: null });
    expect(where.appId).toMatch(/^ap-/);
    expect(path.basename(path.dirname(where.cwd))).toBe("code");
    await waitUntil(() => {
      const now = workerChildren(server);
      return now.length === 2 && !now.includes(where.pid);
    }, { what: "the taken worker replaced" });
  });
});

local("prestartedWorkers: 0", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ config: { limits: { prestartedWorkers: 0 } } });
  });
  afterAll(() => server.stop());

  test("starts none; a call starts its worker as before", async () => {
    expect(workerChildren(server)).toEqual([]);
    const r = await server.run([APP]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout.trim().split("\n").pop() as string) as Where).secret).toBe("s3cret");
  });
});
