import { spawnSync } from "node:child_process";
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

const SANDBOXED_APP = writeFixture(
  "prestarted-sandboxed.ts",
  `import { fn, Secret, Stub } from "stubrun";
import fs from "node:fs";
import path from "node:path";

const stub = new Stub("prestarted-sandboxed");

function attempt(what: () => unknown): string {
  try {
    return "ok: " + String(what());
  } catch (error) {
    return "error: " + (error as NodeJS.ErrnoException).code;
  }
}

class Sandboxed {
  @stub.function({ secrets: [Secret.fromObject({ PRE_SECRET: "s3cret" })] })
  where(home: string) {
    return {
      startedAt: Date.now() - process.uptime() * 1000,
      secret: process.env.PRE_SECRET ?? null,
      cwd: process.cwd(),
      entry: fs.readdirSync(".").filter((f) => f.endsWith(".ts") || f.endsWith(".js")).length > 0,
      write: attempt(() => fs.writeFileSync("injected.js", "x")),
      codes: attempt(() => fs.readdirSync(path.join(home, "code")).join(",")),
      token: attempt(() => fs.readFileSync(path.join(home, "token"), "utf8")),
    };
  }

  @stub.function({ network: false })
  offline() {
    return Date.now() - process.uptime() * 1000;
  }
}
`,
);

/** Whether bubblewrap works here, and mounts can be made (root): what sandboxes started ahead need. */
const CAN_SANDBOX_AHEAD = process.getuid?.() === 0 && spawnSync("bwrap", ["--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "true"]).status === 0;

/** Sandboxes started ahead by the server (idle, or taken and still running): its bubblewrap children in the late mounts' namespace. */
function sandboxesAhead(server: TestServer): number[] {
  return childrenOf(server, (cmdline) => cmdline.includes("bwrap") && cmdline.includes("sandboxes-ahead")).map(({ pid }) => pid);
}

/** Waits until 2 sandboxes are started ahead and idle: the one a run took has gone (its app stopped) and was replaced. */
async function twoIdleSandboxes(server: TestServer, before: number[] = []): Promise<number[]> {
  let now: number[] = [];
  await waitUntil(() => (now = sandboxesAhead(server)).length === 2 && now.some((pid) => !before.includes(pid)), { what: "2 sandboxes started ahead, the taken one replaced" });
  return now;
}

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
  return childrenOf(server, (cmdline) => cmdline.includes("worker")).map(({ pid }) => pid);
}

/** The server's child processes whose command line passes `test`. */
function childrenOf(server: TestServer, test: (cmdline: string) => boolean): { pid: number; cmdline: string }[] {
  const serverPid = (JSON.parse(fs.readFileSync(path.join(server.home, "server.pid"), "utf8")) as { pid: number }).pid;
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (ppid === serverPid && test(cmdline)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
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

(local === describe && CAN_SANDBOX_AHEAD ? describe : describe.skip)("sandboxed workers started ahead (STUBRUN_SANDBOX=on, as root)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ env: { STUBRUN_SANDBOX: "on" } });
  });
  afterAll(() => server.stop());

  test("the first call takes a sandbox started ahead: its code read-only at its usual path, no other app's, its secret; it is replaced", async () => {
    const first = await twoIdleSandboxes(server);
    // Another app's code is on the server: the sandbox must not show it.
    expect((await server.run([`${APP}::Prestarted.where`])).code).toBe(0);
    const ahead = await twoIdleSandboxes(server, first);
    const asked = Date.now();
    const r = await server.run([`${SANDBOXED_APP}::Sandboxed.where`, "--home", server.home]);
    expect(r.code).toBe(0);
    const where = JSON.parse(r.stdout.trim().split("\n").pop() as string) as Record<string, unknown>;
    // It was running before the call was asked for: a sandbox started ahead, not one started for it.
    expect(where.startedAt as number).toBeLessThan(asked);
    expect(where.cwd).toBe(path.join(server.home, "code", path.basename(where.cwd as string)));
    expect(where).toMatchObject({ secret: "s3cret", entry: true, write: "error: EROFS", codes: `ok: ${path.basename(where.cwd as string)}`, token: "error: ENOENT" });
    await twoIdleSandboxes(server, ahead);
  });

  test("a function with network: false gets a sandbox started for it, and runs", async () => {
    const asked = Date.now();
    const r = await server.run([`${SANDBOXED_APP}::Sandboxed.offline`]);
    expect(r.code).toBe(0);
    expect(Number(r.stdout.trim().split("\n").pop())).toBeGreaterThan(asked);
  });

  test("stopping the server leaves no sandbox, mount namespace or slot folder behind", async () => {
    await server.stop({ keepHome: true });
    expect(fs.existsSync(path.join(server.home, "sandboxes-ahead"))).toBe(false);
    const leftovers = fs.readdirSync("/proc").filter((entry) => {
      try {
        return /^\d+$/.test(entry) && fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(server.home);
      } catch {
        return false;
      }
    });
    expect(leftovers).toEqual([]);
  });
});
