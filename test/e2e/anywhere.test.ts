import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, withTestServer, type TestServer } from "./harness";

/**
 * A single `.ts` file outside any project (no package.json, no node_modules) runs with
 * `npx stubrun file.ts`: `stubrun` resolves to the CLI's own SDK in the CLI, and to the worker's
 * in workers. A package the file imports that is not installed is a usage error naming both.
 */
describe("a file anywhere", () => {
  let server: TestServer;
  let dir: string;
  withTestServer((s) => (server = s), () => fs.rmSync(dir, { recursive: true, force: true }));
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-anywhere-"));
    expect(path.relative(ROOT, dir).startsWith("..")).toBe(true);
  });

  function write(name: string, source: string): string {
    fs.writeFileSync(path.join(dir, name), source);
    return name;
  }

  test("a lone file imports stubrun, runs a function remotely, and exits 0", async () => {
    const file = write(
      "hello.ts",
      `import { Stub, fn } from "stubrun";
const stub = new Stub("anywhere");
class Hello {
  @stub.function()
  square(x: number): number {
    console.log("worker pid " + process.pid);
    return x * x;
  }
  @stub.localEntrypoint()
  async main(n: number) {
    console.log("square:", await fn(this.square).remote(n));
  }
}
`,
    );
    const result = await server.run([file, "--n", "7"], { cwd: dir });
    expect(result.stderr).not.toMatch(/Cannot find module/);
    expect(result.stdout).toContain("square: 49");
    expect(result.stdout).toMatch(/^worker pid \d+$/m);
    expect(result.code).toBe(0);
  });

  test("a package that is not installed is a usage error naming it and the file, without a stack", async () => {
    const file = write(
      "needs-lodash.ts",
      `import { Stub } from "stubrun";
import chunk from "lodash/chunk";
const stub = new Stub();
class Uses {
  @stub.function()
  f(): number[][] { return chunk([1, 2, 3], 2); }
}
`,
    );
    const result = await server.run([file], { cwd: dir });
    expect(result.stderr).toContain('needs-lodash.ts imports "lodash/chunk", which is not installed where the file is: npm install lodash');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(2);
  });

  test("a path inside stubrun that does not exist is a usage error saying the API is in stubrun", async () => {
    const file = write("deep.ts", 'import { Stub } from "stubrun/nothing-here";\nnew Stub();\n');
    const result = await server.run([file], { cwd: dir });
    expect(result.stderr).toContain('deep.ts imports "stubrun/nothing-here", which stubrun does not offer: its whole API is in "stubrun"');
    expect(result.code).toBe(2);
  });
});
