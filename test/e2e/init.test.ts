import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, tempDir, withTestServer, type TestServer } from "./harness";

/** Issue 12 item 11: `stubrun init` sets a folder up for the editor, and its example runs. */
// Through the server's env: its STUBRUN_HOME, not ~/.stubrun, gets what the bin caches.
describe("stubrun init", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("writes a tsconfig.json with decorators on and an example that type-checks and runs; a second init leaves both", async () => {
    const dir = tempDir("init");
    const first = await server.run(["init", dir]);
    expect(first.stdout).toContain("tsconfig.json: experimentalDecorators and emitDecoratorMetadata on");
    expect(first.stdout).toContain("an example; run it with: npx stubrun");
    expect(first.code).toBe(0);
    // What an editor sees: tsc with that tsconfig and stubrun's types accepts the decorators.
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.symlinkSync(path.join(ROOT, "packages/stubrun"), path.join(dir, "node_modules/stubrun"));
    const tsc = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
    const run = await server.run(["-q", "hello.ts", "--n", "7"], { cwd: dir });
    expect(run.stdout).toBe("squaring 7\n49\n");
    const again = await server.run(["init", dir]);
    expect(again.stdout).toContain("is there and has decorators on: left as it is");
    expect(again.stdout).toContain("hello.ts is there: left as it is");
  });

  test("an existing tsconfig.json without decorators is left alone, saying what to add", async () => {
    const dir = tempDir("init-existing");
    fs.writeFileSync(path.join(dir, "tsconfig.json"), '{ "compilerOptions": { "strict": true } }\n');
    const r = await server.run(["init", dir]);
    expect(r.stdout).toContain('left as it is, but add "experimentalDecorators": true and "emitDecoratorMetadata": true to its compilerOptions');
    expect(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8")).toBe('{ "compilerOptions": { "strict": true } }\n');
    expect(r.code).toBe(0);
  });
});
