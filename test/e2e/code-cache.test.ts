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

/** Where the bin keeps the code of every module it caches. */
const packOf = (server: TestServer) => path.join(server.home, "cache", "v8", "modules.bin");

describe("the code cache of the bin", () => {
  let server: TestServer;
  withTestServer(
    (s) => (server = s),
    () => fs.rmSync(DIR, { recursive: true, force: true }),
  );

  test("a package changed since the last run runs as changed, however its entry was", async () => {
    const file = writeProject("cat");
    expect((await server.run(["-q", file])).stdout).toBe("cat\n");
    expect(fs.statSync(packOf(server)).size).toBeGreaterThan(100_000);
    expect((await server.run(["-q", file])).stdout).toBe("cat\n");

    // Same size, a later time: a new version of the package.
    fs.writeFileSync(PACKAGE, `exports.word = () => ${JSON.stringify("dog")};\n`);
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(PACKAGE, later, later);
    const r = await server.run(["-q", file]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("dog\n");
  });

  test("a damaged cache is ignored: the run goes as always, and the next one too", async () => {
    const file = writeProject("fox");
    expect((await server.run(["-q", file])).stdout).toBe("fox\n");
    const damages: [string, (raw: Buffer) => Buffer][] = [
      // Bytes changed in the code, where V8 itself does not look (its checksum is for debug builds).
      ["code changed", (raw) => Buffer.from(raw.map((byte, i) => (i > raw.length / 2 && i % 7 === 0 ? byte ^ 0x5a : byte)))],
      ["cut short", (raw) => raw.subarray(0, raw.length / 2)],
      ["index damaged", (raw) => Buffer.concat([raw.subarray(0, 30), Buffer.from("{{"), raw.subarray(32)])],
      ["emptied", () => Buffer.alloc(0)],
    ];
    for (const [what, damage] of damages) {
      fs.writeFileSync(packOf(server), damage(fs.readFileSync(packOf(server))));
      for (let run = 0; run < 2; run++) {
        const r = await server.run(["-q", file]);
        expect({ what, stderr: r.stderr, stdout: r.stdout, code: r.code }).toEqual({ what, stderr: "", stdout: "fox\n", code: 0 });
      }
    }
  });
});
