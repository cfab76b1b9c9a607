import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { withTestServer, type TestServer } from "./harness";

/**
 * ESM TypeScript imports with `await import(...)`: a local file (named `.js`, as ESM TypeScript
 * writes it, though it is a `.ts` on disk) that only a function imports, and an ESM-only package.
 * Both work with `.local()` and remotely, where the local file arrives with the upload.
 */
describe("dynamic import()", () => {
  let server: TestServer;
  let dir: string;
  withTestServer((s) => (server = s), () => fs.rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-dynamic-import-"));
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "dyn", type: "module" }));
    const pkg = path.join(dir, "node_modules/esm-only");
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "esm-only", type: "module", exports: "./index.js" }));
    fs.writeFileSync(path.join(pkg, "index.js"), "export const twice = (s) => s + s;\n");
    fs.mkdirSync(path.join(dir, "lib"));
    fs.writeFileSync(path.join(dir, "lib/util.ts"), 'export const bang = (s: string): string => s + "!";\n');
    fs.writeFileSync(
      path.join(dir, "app.ts"),
      `import { Stub, fn } from "stubrun";
const stub = new Stub("dynamic-import");
class Dyn {
  @stub.function()
  async shout(word: string): Promise<string> {
    const { bang } = await import("./lib/util.js");
    const { twice } = await import("esm-only");
    return bang(twice(word));
  }
  @stub.localEntrypoint()
  async main() {
    console.log("local:", await fn(this.shout).local("ab"));
    console.log("remote:", await fn(this.shout).remote("cd"));
  }
}
`,
    );
  });

  test("of a local file and of an ESM-only package works locally and in workers", async () => {
    const result = await server.run(["app.ts"], { cwd: dir });
    expect(result.stderr).not.toMatch(/Cannot find module/);
    expect(result.stdout).toBe("local: abab!\nremote: cdcd!\n");
    expect(result.code).toBe(0);
  });
});
