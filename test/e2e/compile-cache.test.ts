import fs from "node:fs";
import path from "node:path";
import { ROOT, withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Issue 11: what SWC made of a file is kept in `$STUBRUN_HOME/cache/swc`, so a second run of an
 * unchanged file does not compile it. A user must never see the cache: a changed file runs as
 * changed, a damaged entry is made again, a syntax error is said on every run.
 */

const FILE = "compile-cache.ts";

function program(word: string, option = ""): string {
  return `import { Stub, fn } from "stubrun";
const stub = new Stub("compile-cache");
class Cached {
  @stub.function()
  say(text: string) {
    return text;
  }

  @stub.localEntrypoint()
  async main(${option}) {
    console.log(await fn(this.say).remote(${option ? `\`${word} \${times}\`` : `"${word}"`}));
  }
}
`;
}

function cacheEntries(server: TestServer): string[] {
  const dir = path.join(server.home, "cache", "swc");
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => path.join(dir, name)) : [];
}

describe("the compile cache", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("a changed file runs as changed, its new options too", async () => {
    const file = writeFixture(FILE, program("first"));
    const first = await server.run(["-q", file]);
    expect(first.stdout).toBe("first\n");
    expect(cacheEntries(server).length).toBeGreaterThan(0);
    const again = await server.run(["-q", file]);
    expect(again.stdout).toBe("first\n");

    writeFixture(FILE, program("second", "times = 1"));
    const changed = await server.run(["-q", file, "--times", "3"]);
    expect(changed.stderr).toBe("");
    expect(changed.stdout).toBe("second 3\n");
    const help = await server.run([file, "--help"]);
    expect(help.stdout).toContain("--times");
  });

  test("a damaged entry is ignored: the file runs and the entry is made again", async () => {
    const file = writeFixture(FILE, program("whole"));
    expect((await server.run(["-q", file])).stdout).toBe("whole\n");
    const entries = cacheEntries(server);
    for (const [i, entry] of entries.entries()) {
      const text = fs.readFileSync(entry, "utf8");
      // Cut short, emptied, or changed after its checksum: none of them may be used.
      fs.writeFileSync(entry, i % 3 === 0 ? text.slice(0, text.length / 2) : i % 3 === 1 ? "" : text.replace("whole", "broken"));
    }
    const r = await server.run(["-q", file]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("whole\n");
    expect(r.code).toBe(0);
    const fresh = await server.run(["-q", file]);
    expect(fresh.stdout).toBe("whole\n");
  });

  test("a syntax error is said on every run, and the fixed file runs", async () => {
    const file = writeFixture(FILE, program("fixed").replace("return text;", "return text +;"));
    for (let i = 0; i < 2; i++) {
      const r = await server.run(["-q", file]);
      expect(r.stderr).toContain(`${file}:6:`);
      expect(r.code).toBe(2);
    }
    writeFixture(FILE, program("fixed"));
    expect((await server.run(["-q", file])).stdout).toBe("fixed\n");
  });

  test("the cache is in STUBRUN_HOME: another home compiles for itself", async () => {
    const file = writeFixture(FILE, program("elsewhere"));
    const home = fs.mkdtempSync(path.join(ROOT, ".stubrun-test-home-"));
    try {
      // The token of the server's home, so the run reaches the same server.
      fs.copyFileSync(path.join(server.home, "token"), path.join(home, "token"));
      const r = await server.run(["-q", file], { env: { STUBRUN_HOME: home } });
      expect(r.stdout).toBe("elsewhere\n");
      expect(fs.readdirSync(path.join(home, "cache", "swc")).length).toBeGreaterThan(0);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
