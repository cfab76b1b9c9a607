import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { tempDir, TestServer, writeFixture } from "./harness";
import { QUEUE_MODE } from "./queue-mode-env";

/**
 * Issue 14 item 5: Volumes. A function writes under its mount path and commits; another
 * function, on another worker (of another run, once the first worker went), loads or reloads
 * the Volume and reads it. The CLI's put, ls, get and rm work on the same content. Workers run
 * sandboxed: a Volume is mounted at its path only in a sandbox. In queue mode
 * (`STUBRUN_SANDBOX=on STUBRUN_TEST_QUEUE=1`) the workers run on two nodes, which fetch the
 * Volume's blobs from the server.
 */

const HAS_BWRAP = spawnSync("bwrap", ["--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "true"]).status === 0;
const maybe = HAS_BWRAP ? describe : describe.skip;
if (!HAS_BWRAP) console.warn("volume tests skipped: bubblewrap is not installed or cannot make namespaces here (.ci/run installs it)");

const APP = writeFixture(
  "volumes-app.ts",
  `import { Stub, Volume, fn } from "stubrun";
import fs from "node:fs";

/** Tells this worker from others (each sandbox has a PID namespace of its own, so pids repeat). */
const WORKER = Math.random().toString(36).slice(2);
const notes = Volume.fromName("notes", { createIfMissing: true });
const stub = new Stub("volumes-app", { volumes: { "/data": notes } });

function read(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    return \`error: \${(error as NodeJS.ErrnoException).code}\`;
  }
}

class Writer {
  @stub.function()
  async write(text: string): Promise<string> {
    fs.mkdirSync("/data/notes", { recursive: true });
    fs.writeFileSync("/data/notes/today.txt", text);
    await notes.commit();
    return "committed";
  }

  @stub.function()
  scribble(text: string): string {
    fs.writeFileSync("/data/uncommitted.txt", text);
    return "written, not committed";
  }
}

class Reader {
  /** What the worker found at its start: the last committed version. */
  @stub.function()
  atStart(file: string): string {
    return read(\`/data/\${file}\`);
  }

  /** This worker's copy, as it is now. */
  @stub.function()
  current(file: string): string {
    return \`\${WORKER} \${read(\`/data/\${file}\`)}\`;
  }

  /** Reloads first: what another worker committed since this one started. */
  @stub.function()
  async fresh(file: string): Promise<string> {
    await notes.reload();
    return \`\${WORKER} \${read(\`/data/\${file}\`)}\`;
  }

  /** What the server answers this worker's credential for a blob. */
  @stub.function()
  async blobStatus(hash: string): Promise<number> {
    const res = await fetch(\`\${process.env.STUBRUN_SERVER_URL}/api/blobs/\${hash}\`, { headers: { authorization: \`Bearer \${process.env.STUBRUN_TOKEN}\` } });
    await res.arrayBuffer();
    return res.status;
  }

  /** One app: the reader's worker stays between its calls while a writer's worker commits. */
  @stub.localEntrypoint()
  async session(): Promise<string[]> {
    const file = "notes/today.txt";
    const before = await fn(this.current).remote(file);
    await fn(Writer.prototype.write).remote("second note");
    const stale = await fn(this.current).remote(file);
    const reloaded = await fn(this.fresh).remote(file);
    const again = await fn(this.fresh).remote(file);
    return [before, stale, reloaded, again];
  }
}
`,
);

const MISSING = writeFixture(
  "volumes-missing.ts",
  `import { Stub, Volume } from "stubrun";

const stub = new Stub("volumes-missing");

class Lost {
  @stub.function({ volumes: { "/data": Volume.fromName("never-made") } })
  look(): string {
    return "started";
  }
}
`,
);

maybe("Volumes (workers sandboxed)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ env: { STUBRUN_SANDBOX: "on" } });
  });
  afterAll(() => server?.stop());

  test("a function commits what it wrote; another function's worker, started later, finds it; uncommitted writes stay with their worker", async () => {
    const wrote = await server.run([`${APP}::Writer.write`, "--text", "first note"]);
    expect(wrote.stderr).not.toContain("Error");
    expect(wrote.stdout.trim()).toBe("committed");
    // Another run: another app, other workers (the writer's went with its run).
    const read = await server.run([`${APP}::Reader.atStart`, "--file", "notes/today.txt"]);
    expect(read.stdout.trim()).toBe("first note");
    expect((await server.run([`${APP}::Writer.scribble`, "--text", "lost"])).code).toBe(0);
    expect((await server.run([`${APP}::Reader.atStart`, "--file", "uncommitted.txt"])).stdout.trim()).toBe("error: ENOENT");
    const list = await server.run(["volume", "list"]);
    expect(list.stdout).toMatch(/^notes\s+1\s/m);
  });

  test("reload() in a worker that was already running brings what another worker committed since; without it, its copy stays", async () => {
    const r = await server.run([`${APP}::Reader.session`]);
    expect(r.code).toBe(0);
    const [before, stale, reloaded, again] = JSON.parse(r.stdout) as string[];
    const worker = before.split(" ")[0];
    expect(before).toBe(`${worker} first note`);
    // Embedded, the same worker serves both calls and has not reloaded; in queue mode the second
    // may run on another node, whose new worker loaded the new version at its start.
    const staleWorker = stale.split(" ")[0];
    if (!QUEUE_MODE) expect(staleWorker).toBe(worker);
    expect(stale).toBe(`${staleWorker} ${staleWorker === worker ? "first note" : "second note"}`);
    expect(reloaded).toMatch(/ second note$/);
    if (!QUEUE_MODE) expect(again.split(" ")[0]).toBe(reloaded.split(" ")[0]);
    expect(again).toMatch(/ second note$/);
  });

  test("the CLI puts, lists, gets and removes files; a function sees what the CLI put", async () => {
    const local = tempDir("stubrun-volume-cli-");
    fs.writeFileSync(path.join(local, "greeting.txt"), "hello from the shell");
    fs.mkdirSync(path.join(local, "dir/sub"), { recursive: true });
    fs.writeFileSync(path.join(local, "dir/sub/deep.txt"), "deep");
    const put = await server.run(["volume", "put", "notes", path.join(local, "greeting.txt"), "/in/greeting.txt"]);
    expect(put.code).toBe(0);
    expect(put.stderr).toContain("Put ");
    expect((await server.run(["volume", "put", "notes", path.join(local, "dir")])).code).toBe(0);
    expect((await server.run(["volume", "ls", "notes"])).stdout).toBe("dir/\nin/\nnotes/\n");
    expect((await server.run(["volume", "ls", "notes", "/in"])).stdout).toBe("greeting.txt\t20\n");
    expect((await server.run(["volume", "get", "notes", "/in/greeting.txt", "-"])).stdout).toBe("hello from the shell");
    const target = path.join(local, "copy");
    expect((await server.run(["volume", "get", "notes", "dir", target])).code).toBe(0);
    expect(fs.readFileSync(path.join(target, "sub/deep.txt"), "utf8")).toBe("deep");
    expect((await server.run([`${APP}::Reader.atStart`, "--file", "in/greeting.txt"])).stdout.trim()).toBe("hello from the shell");
    const notFolder = await server.run(["volume", "rm", "notes", "dir"]);
    expect(notFolder.code).not.toBe(0);
    expect(notFolder.stderr).toContain("is a folder: remove it with what it holds with -r");
    const headOf = async () => (JSON.parse((await server.run(["volume", "list", "--json"])).stdout) as { head: string }[])[0].head;
    const earlier = await headOf();
    expect((await server.run(["volume", "rm", "notes", "dir", "-r"])).code).toBe(0);
    // A worker's credential reads the current head's blob, and no other (not an earlier version, not another app's packages).
    expect((await server.run([`${APP}::Reader.blobStatus`, "--hash", await headOf()])).stdout.trim()).toBe("200");
    expect((await server.run([`${APP}::Reader.blobStatus`, "--hash", earlier])).stdout.trim()).toBe("403");
    expect((await server.run(["volume", "rm", "notes", "/in/greeting.txt"])).code).toBe(0);
    expect((await server.run(["volume", "ls", "notes"])).stdout).toBe("notes/\n");
    expect((await server.run(["volume", "get", "notes", "notes/today.txt", "-"])).stdout).toBe("second note");
    expect((await server.run([`${APP}::Reader.atStart`, "--file", "in/greeting.txt"])).stdout.trim()).toBe("error: ENOENT");
  });

  test("a Volume that does not exist, without createIfMissing, says how to make it; so does the CLI", async () => {
    const r = await server.run([`${MISSING}::Lost.look`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no Volume named "never-made"');
    expect(r.stderr).toContain("createIfMissing: true");
    const ls = await server.run(["volume", "ls", "never-made"]);
    expect(ls.code).not.toBe(0);
    expect(ls.stderr).toContain('no Volume named "never-made"');
  });

  test("volume delete removes it", async () => {
    expect((await server.run(["volume", "delete", "notes", "--yes"])).code).toBe(0);
    expect((await server.run(["volume", "list", "--json"])).stdout.trim()).toBe("[]");
  });
});

const BAD_PATH = writeFixture(
  "volumes-bad-path.ts",
  `import { Stub, Volume } from "stubrun";

const stub = new Stub("volumes-bad-path");

class Bad {
  @stub.function({ volumes: { "data": Volume.fromName("d", { createIfMissing: true }) } })
  f(): string {
    return "never";
  }
}
`,
);

const OFFLINE = writeFixture(
  "volumes-offline.ts",
  `import { Stub, Volume } from "stubrun";

const stub = new Stub("volumes-offline", { volumes: { "/data": Volume.fromName("d", { createIfMissing: true }) } });

class Offline {
  @stub.function({ network: false })
  f(): string {
    return "never";
  }
}
`,
);

// In queue mode the nodes run the workers, with the sandbox mode of the test's environment.
(QUEUE_MODE ? describe.skip : describe)("Volumes without a sandbox", () => {
  test("a function that mounts one refuses to start, saying why; a bad mount path or network: false is a usage error", async () => {
    const server = await TestServer.start({ env: { STUBRUN_SANDBOX: "off" } });
    try {
      const r = await server.run([`${APP}::Reader.atStart`, "--file", "x"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the worker for Reader.atStart cannot start: it mounts Volumes (/data), which only a sandboxed worker can have at their paths");
      // Mistakes are found before anything runs, sandbox or not.
      const bad = await server.run([`${BAD_PATH}::Bad.f`]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('@stub.function() on Bad.f: volumes: the mount path "data" must be absolute, like "/data"');
      const offline = await server.run([`${OFFLINE}::Offline.f`]);
      expect(offline.code).toBe(2);
      expect(offline.stderr).toContain("@stub.function() on Offline.f: it mounts Volumes and has network: false");
    } finally {
      await server.stop();
    }
  });
});
