import fs from "node:fs";
import path from "node:path";
import { ROOT, TestServer } from "./harness";

/**
 * User projects may be CommonJS or `"type": "module"`, import local files (with or without the
 * `.js` suffix ESM TypeScript uses) and bare packages from their own node_modules: all of it
 * must load in the CLI and in the workers.
 */
function writeProject(name: string, type: "commonjs" | "module"): string {
  const dir = path.join(ROOT, "test/e2e/.fixtures", name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "node_modules/shouty"), { recursive: true });
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, type }));
  // A bare package of the project's own, CommonJS as most of npm is.
  fs.writeFileSync(path.join(dir, "node_modules/shouty/package.json"), JSON.stringify({ name: "shouty", main: "index.js" }));
  fs.writeFileSync(path.join(dir, "node_modules/shouty/index.js"), "exports.shout = (s) => s.toUpperCase() + '!';\n");
  fs.mkdirSync(path.join(dir, "lib"));
  fs.writeFileSync(path.join(dir, "lib/greeting.ts"), 'export const greeting = (name: string): string => `hello ${name}`;\n');
  const suffix = type === "module" ? ".js" : "";
  fs.writeFileSync(
    path.join(dir, "app.ts"),
    `import { Stub, fn } from "stubrun";
import { shout } from "shouty";
import { greeting } from "./lib/greeting${suffix}";

const stub = new Stub("${name}");

class Project {
  @stub.function()
  greet(name: string): string {
    return shout(greeting(name));
  }

  @stub.localEntrypoint()
  async main(name = "world") {
    console.log(await fn(this.greet).remote(name));
  }
}
`,
  );
  return path.relative(ROOT, path.join(dir, "app.ts"));
}

describe("user projects", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test.each(["commonjs", "module"] as const)('a "type": "%s" project with a local import and a bare package runs', async (type) => {
    const file = writeProject(`projects-${type}`, type);
    const r = await server.run([file, "--name", "ann"]);
    expect(r.stderr).not.toContain("Error");
    expect(r.stdout).toBe("HELLO ANN!\n");
    expect(r.code).toBe(0);
  });
});
