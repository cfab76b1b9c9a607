import fs from "node:fs";
import path from "node:path";
import { ROOT, withTestServer, type TestServer } from "./harness";

/**
 * Issue 11: the bin keeps V8's compiled code of the modules it loads from node_modules (stubrun's
 * own, and a project's packages) in `$STUBRUN_HOME/cache/v8` (packages/stubrun/src/code-cache.ts).
 * A user must never see it: a changed package runs as changed, a damaged entry is compiled again.
 */

const DIR = path.join(ROOT, "test/e2e/.fixtures/code-cache");
const PACKAGE = path.join(DIR, "node_modules/wordy/index.js");

function writeProject(word: string): string {
  fs.mkdirSync(path.dirname(PACKAGE), { recursive: true });
  fs.writeFileSync(path.join(DIR, "node_modules/wordy/package.json"), JSON.stringify({ name: "wordy", main: "index.js" }));
  fs.writeFileSync(PACKAGE, `exports.word = () => ${JSON.stringify(word)};\n`);
  fs.writeFileSync(
    path.join(DIR, "app.ts"),
    `import { Stub } from "stubrun";
import { word } from "wordy";
const stub = new Stub("code-cache");
class Local {
  @stub.function()
  f() {}

  @stub.localEntrypoint()
  main() {
    console.log(word());
  }
}
`,
  );
  return path.relative(ROOT, path.join(DIR, "app.ts"));
}

function entries(server: TestServer): string[] {
  const dir = path.join(server.home, "cache", "v8");
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => path.join(dir, name)) : [];
}

describe("the code cache of the bin", () => {
  let server: TestServer;
  withTestServer(
    (s) => (server = s),
    () => fs.rmSync(DIR, { recursive: true, force: true }),
  );

  test("a package changed since the last run runs as changed, however its entry was", async () => {
    const file = writeProject("cat");
    expect((await server.run(["-q", file])).stdout).toBe("cat\n");
    expect(entries(server).length).toBeGreaterThan(10);
    expect((await server.run(["-q", file])).stdout).toBe("cat\n");

    // Same size, a later time: a new version of the package.
    fs.writeFileSync(PACKAGE, `exports.word = () => ${JSON.stringify("dog")};\n`);
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(PACKAGE, later, later);
    const r = await server.run(["-q", file]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("dog\n");
  });

  test("damaged entries are ignored: the run goes as always, and the next one too", async () => {
    const file = writeProject("fox");
    expect((await server.run(["-q", file])).stdout).toBe("fox\n");
    const all = entries(server);
    for (const [i, entry] of all.entries()) {
      const raw = fs.readFileSync(entry);
      const newline = raw.indexOf(10);
      // The header kept, the code cut short, changed or gone.
      if (i % 3 === 0) fs.writeFileSync(entry, raw.subarray(0, newline + 1 + (raw.length - newline) / 2));
      else if (i % 3 === 1) {
        // Bytes changed in the middle of the code, where V8 itself does not look (its checksum is for debug builds).
        for (let at = newline + 1 + Math.floor((raw.length - newline) / 2); at < raw.length; at += 7) raw[at] ^= 0x5a;
        fs.writeFileSync(entry, raw);
      }
      else fs.writeFileSync(entry, "");
    }
    for (let run = 0; run < 2; run++) {
      const r = await server.run(["-q", file]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("fox\n");
      expect(r.code).toBe(0);
    }
  });
});
