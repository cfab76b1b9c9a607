import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, runBin, tempDir, TestServer, writeFixture } from "./harness";
import { QUEUE_MODE } from "./queue-mode-env";

/**
 * Issue 15: a worker runs in a sandbox (bubblewrap): a function cannot read the server's
 * environment, list STUBRUN_HOME, write another app's code, signal the server, or read files
 * outside its code; two apps' workers do not share /tmp; `network: false` has no network. The
 * server says which isolation is in force, and will not listen beyond loopback without one
 * unless told --insecure-workers.
 */

const HAS_BWRAP = spawnSync("bwrap", ["--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "true"]).status === 0;
const maybe = HAS_BWRAP ? describe : describe.skip;
if (!HAS_BWRAP) console.warn("sandbox tests skipped: bubblewrap is not installed or cannot make namespaces here (.ci/run installs it)");

const PROBE = writeFixture(
  "sandbox-probe.ts",
  `import { Stub } from "stubrun";
import fs from "node:fs";

const stub = new Stub("sandbox-probe");

/** What an attempt gave: "ok: ..." or the error code. */
function attempt(what: () => unknown): string {
  try {
    return \`ok: \${String(what())}\`;
  } catch (error) {
    return \`error: \${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\`;
  }
}

class Probe {
  @stub.function()
  escape(serverPid: number, home: string, otherCode: string, outside: string): Record<string, string> {
    return {
      environ: attempt(() => fs.readFileSync(\`/proc/\${serverPid}/environ\`, "utf8")),
      home: attempt(() => fs.readdirSync(home).join(",")),
      codes: attempt(() => fs.readdirSync(\`\${home}/code\`).join(",")),
      cwd: process.cwd(),
      images: attempt(() => fs.readdirSync(\`\${home}/images\`).join(",")),
      state: attempt(() => fs.readFileSync(\`\${home}/state.db\`).length),
      token: attempt(() => fs.readFileSync(\`\${home}/token\`, "utf8")),
      otherCode: attempt(() => fs.writeFileSync(\`\${otherCode}/injected.js\`, "pwned")),
      ownCode: attempt(() => fs.writeFileSync("./injected.js", "pwned")),
      kill: attempt(() => process.kill(serverPid, "SIGKILL")),
      outside: attempt(() => fs.readFileSync(outside, "utf8").length),
      tmp: attempt(() => (fs.writeFileSync("/tmp/mine.txt", "ok"), fs.readFileSync("/tmp/mine.txt", "utf8"))),
      home_dir: attempt(() => (fs.writeFileSync(\`\${process.env.HOME}/.mine\`, "ok"), "written")),
      uid: String(process.getuid?.()),
      // The value it has: nothing changes even where the write goes through.
      sysctl: attempt(() => fs.writeFileSync("/proc/sys/vm/swappiness", fs.readFileSync("/proc/sys/vm/swappiness"))),
    };
  }

  @stub.function()
  leave(): void {
    fs.writeFileSync("/tmp/left-by-probe.txt", "secret of sandbox-probe");
  }
}
`,
);

const OTHER = writeFixture(
  "sandbox-other.ts",
  `import { Stub } from "stubrun";
import fs from "node:fs";

const stub = new Stub("sandbox-other");

class Other {
  @stub.function()
  peek(): string {
    try {
      return fs.readFileSync("/tmp/left-by-probe.txt", "utf8");
    } catch (error) {
      return \`error: \${(error as NodeJS.ErrnoException).code}\`;
    }
  }

  @stub.function()
  async online(url: string): Promise<string> {
    return (await fetch(\`\${url}/health\`)).ok ? "reached the server" : "answered, not ok";
  }

  @stub.function({ network: false })
  async offline(url: string): Promise<string> {
    try {
      await fetch(\`\${url}/health\`);
      return "reached the server";
    } catch (error) {
      return \`error: \${((error as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (error as Error).message}\`;
    }
  }
}
`,
);

maybe("workers in a sandbox (STUBRUN_SANDBOX=on)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ env: { STUBRUN_SANDBOX: "on" } });
  });
  afterAll(() => server?.stop());

  test("the server says which isolation is in force", () => {
    // In queue mode the nodes run the workers, and each says it on its own log.
    if (!QUEUE_MODE) expect(server.log).toContain("stubrun server: workers run sandboxed (bubblewrap)");
  });

  test("a function cannot read the server's environment, list STUBRUN_HOME, write other code, kill the server or read outside its code", async () => {
    // The other app's code folder exists on the server: the probe is told exactly where.
    const other = await server.run([`${OTHER}::Other.peek`]);
    expect(other.code).toBe(0);
    const codeDirs = fs.readdirSync(path.join(server.home, "code")).filter((d) => !d.endsWith(".json"));
    const before = new Set(codeDirs);
    const r = await server.run([`${PROBE}::Probe.escape`, "--server-pid", String(server.pid), "--home", server.home, "--other-code", path.join(server.home, "code", codeDirs[0]), "--outside", path.join(ROOT, "package.json")]);
    expect(r.code).toBe(0);
    const seen = JSON.parse(r.stdout) as Record<string, string>;
    expect(seen.environ).toBe("error: ENOENT"); // the server's pid is not in the worker's PID namespace
    // Only the path down to its own code (and, in a sandbox started ahead, the empty folder where an
    // image would be); in queue mode the code is in the node's home, and the server's is not there at all.
    if (QUEUE_MODE) expect(seen.home).toBe("error: ENOENT");
    else {
      expect(["ok: code", "ok: code,images"]).toContain(seen.home);
      // Its own code folder, at its usual path, and no other app's.
      expect(seen.cwd).toBe(path.join(server.home, "code", path.basename(seen.cwd)));
      expect(seen.codes).toBe(`ok: ${path.basename(seen.cwd)}`);
      expect(["ok: ", "error: ENOENT"]).toContain(seen.images);
    }
    expect(seen.state).toBe("error: ENOENT");
    expect(seen.token).toBe("error: ENOENT");
    expect(seen.otherCode).toMatch(/^error: (ENOENT|EROFS)$/);
    expect(seen.ownCode).toBe("error: EROFS");
    expect(seen.kill).toBe("error: ESRCH");
    expect(seen.outside).toBe("error: ENOENT");
    expect(seen.tmp).toBe("ok: ok");
    expect(seen.home_dir).toBe("ok: written");
    // A root server's workers run as nobody: no kernel setting is theirs to write.
    if (process.getuid?.() === 0) expect(seen.uid).toBe("65534");
    expect(seen.sysctl).toMatch(/^error: (EACCES|EROFS|EPERM)$/);
    // Nothing changed: the server runs, no code folder gained a file, the other app still works.
    expect(server.alive).toBe(true);
    for (const dir of before) expect(fs.existsSync(path.join(server.home, "code", dir, "injected.js"))).toBe(false);
    expect((await server.run([`${OTHER}::Other.peek`])).code).toBe(0);
  });

  test("two apps' workers do not share /tmp", async () => {
    expect((await server.run([`${PROBE}::Probe.leave`])).code).toBe(0);
    const peek = await server.run([`${OTHER}::Other.peek`]);
    expect(peek.stdout.trim()).toBe("error: ENOENT");
  });

  test("network: false has no network; other functions do", async () => {
    expect((await server.run([`${OTHER}::Other.online`, "--url", server.url])).stdout.trim()).toBe("reached the server");
    const offline = await server.run([`${OTHER}::Other.offline`, "--url", server.url]);
    expect(offline.stdout.trim()).toMatch(/^error: (ECONNREFUSED|ENETUNREACH)$/);
  });
});

describe("without a sandbox", () => {
  test("STUBRUN_SANDBOX=off says so; network: false then refuses to start its worker, saying why", async () => {
    const server = await TestServer.start({ env: { STUBRUN_SANDBOX: "off" } });
    try {
      if (!QUEUE_MODE) expect(server.log).toContain("stubrun server: workers are NOT sandboxed (STUBRUN_SANDBOX=off)");
      const r = await server.run([`${OTHER}::Other.offline`, "--url", server.url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the worker for Other.offline cannot start: it has network: false, which only a sandboxed worker can keep to");
    } finally {
      await server.stop();
    }
  });

  test("a server beyond loopback without a sandbox refuses to start unless --insecure-workers; a bad mode is a usage error", async () => {
    const home = tempDir("stubrun-sandbox-");
    const env = { ...process.env, STUBRUN_HOME: home, STUBRUN_TOKEN: "s3cret", STUBRUN_SANDBOX: "off" };
    const refused = await runBin(["server", "--host", "0.0.0.0", "--port", "0"], { env, timeoutMs: 20_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("the server would listen on 0.0.0.0, beyond this machine, with workers that are not sandboxed (STUBRUN_SANDBOX=off)");
    expect(refused.stderr).toContain("--insecure-workers");
    const bad = await runBin(["server", "--port", "0"], { env: { ...env, STUBRUN_SANDBOX: "maybe" }, timeoutMs: 20_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('STUBRUN_SANDBOX must be auto, on or off, got "maybe"');
  });
});
