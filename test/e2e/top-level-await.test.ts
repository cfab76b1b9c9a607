import fs from "node:fs";
import path from "node:path";
import { callDeployed, writeCallScript } from "./deploy-helpers";
import { spawnBin, tempDir, waitUntil, withTestServer, type TestServer } from "./harness";

/**
 * SPEC §2: "ESM files may use top-level `await` and dynamic `import()`, locally and in workers".
 * A program whose files await at their top level runs as ES modules: in the CLI (`stubrun FILE`,
 * `deploy`, `serve`) and in workers, with decorator metadata still emitted. Each project is a
 * `"type": "module"` folder outside the repository, as a user writes one.
 */
describe("top-level await", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  /** A project folder with `files` (path -> source) and a package.json saying ESM. */
  function project(files: Record<string, string>): string {
    const dir = tempDir("tla");
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "tla", type: "module" }));
    for (const [name, source] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), source);
    }
    return dir;
  }

  /** A local module that awaits at its top level. */
  const settings = `async function loadSettings(): Promise<{ factor: number }> {
  return new Promise((resolve) => setTimeout(() => resolve({ factor: 3 }), 10));
}
export const settings = await loadSettings();
`;

  /** An entry that awaits a value at its top level, imports a module that does too, and uses both in a function. */
  const calc = (name: string) => `import { Stub, fn } from "stubrun";
import { settings } from "./lib/settings.js";

const stub = new Stub(${JSON.stringify(name)});
const offset = await Promise.resolve(10);

class Calc {
  @stub.function()
  scale(x: number): string {
    const types = Reflect.getMetadata("design:paramtypes", Calc.prototype, "scale").map((t: Function) => t.name);
    return \`\${x * settings.factor + offset} (\${types.join(",")})\`;
  }

  @stub.localEntrypoint()
  async main(n: number) {
    console.log("local:", await fn(this.scale).local(n));
    console.log("remote:", await fn(this.scale).remote(n));
  }
}
`;

  test("an entry that awaits at its top level, and imports a module that does too, runs locally and in workers", async () => {
    const dir = project({ "app.ts": calc("tla-run"), "lib/settings.ts": settings });
    const result = await server.run(["app.ts", "--n", "4"], { cwd: dir });
    expect(result.stderr).not.toMatch(/await is not defined|ERR_REQUIRE_ASYNC_MODULE/);
    expect(result.stdout).toBe("local: 22 (Number)\nremote: 22 (Number)\n");
    expect(result.code).toBe(0);
  });

  test("a function that imports a local module awaiting at its top level with import() works locally and in workers", async () => {
    const dir = project({
      "lib/greeting.ts": `const word = await Promise.resolve("hello");\nexport const greet = (name: string): string => \`\${word} \${name}\`;\n`,
      "app.ts": `import { Stub, fn } from "stubrun";
const stub = new Stub();
class Lazy {
  @stub.function()
  async greet(name: string): Promise<string> {
    const { greet } = await import("./lib/greeting.js");
    return greet(name);
  }
  @stub.localEntrypoint()
  async main() {
    console.log(await fn(this.greet).local("local"));
    console.log(await fn(this.greet).remote("remote"));
  }
}
`,
    });
    const result = await server.run(["app.ts"], { cwd: dir });
    expect(result.stdout).toBe("hello local\nhello remote\n");
    expect(result.code).toBe(0);
  });

  test("a file written for CommonJS keeps __dirname and __filename when its program runs as ES modules", async () => {
    const dir = project({
      "lib/where.ts": `import path from "node:path";\nexport const where = (): string => path.basename(__dirname) + "/" + path.basename(__filename);\n`,
      "app.ts": `import { Stub, fn } from "stubrun";
import { where } from "./lib/where.js";
const stub = new Stub();
const ready = await Promise.resolve(true);
class Where {
  @stub.function()
  where(): string { return where(); }
  @stub.localEntrypoint()
  async main() {
    console.log("local:", where());
    console.log("remote:", await fn(this.where).remote());
  }
}
`,
    });
    const result = await server.run(["app.ts"], { cwd: dir });
    // Uploaded ES modules are .mjs files in the same folders.
    expect(result.stdout).toBe("local: lib/where.ts\nremote: lib/where.mjs\n");
    expect(result.code).toBe(0);
  });

  test("a deployed app that awaits at its top level answers lookup() after its folder is gone", async () => {
    const dir = project({ "app.ts": calc("tla-deployed"), "lib/settings.ts": settings });
    const deploy = await server.run(["deploy", "app.ts"], { cwd: dir });
    expect(deploy.stdout).toContain("Created app tla-deployed");
    expect(deploy.code).toBe(0);
    // Its files are all uploaded: the workers need nothing from the folder it was deployed from.
    fs.rmSync(dir, { recursive: true, force: true });
    expect(await callDeployed(writeCallScript("tla"), server.env, "tla-deployed", "Calc.scale", {}, [5])).toBe("25 (Number)");
  });

  test("a top-level await that rejects fails the run with its message and a stack in the .ts file, exit 1", async () => {
    const dir = project({
      "app.ts": `import { Stub } from "stubrun";
const stub = new Stub();
async function loadConfig(): Promise<string> {
  throw new Error("the config server is unreachable");
}
const config = await loadConfig();
class Uses {
  @stub.function()
  f(): string { return config; }
}
`,
    });
    const result = await server.run(["app.ts"], { cwd: dir });
    expect(result.stderr).toContain("Error: the config server is unreachable");
    expect(result.stderr).toMatch(/app\.ts:4:\d+/); // the throw, in the TypeScript source
    expect(result.stderr).toMatch(/app\.ts:6:\d+/); // the await
    expect(result.code).toBe(1);
  });

  test("a module awaiting at its top level that only a computed import() reaches fails saying to import it by a literal path", async () => {
    const dir = project({
      "plugins/slow.ts": "export const name = await Promise.resolve(\"slow\");\n",
      "app.ts": `import { Stub, fn } from "stubrun";
const stub = new Stub();
class Plugins {
  @stub.function()
  async load(plugin: string): Promise<string> {
    return (await import(\`./plugins/\${plugin}.js\`)).name;
  }
  @stub.localEntrypoint()
  async main() {
    console.log(await fn(this.load).local("slow"));
  }
}
`,
    });
    const result = await server.run(["app.ts"], { cwd: dir });
    expect(result.stderr).toContain("plugins/slow.ts awaits at its top level, so it must be imported by a literal path");
    expect(result.code).toBe(1);
  });

  test("a syntax error in a module of such a program is file:line, exit 2", async () => {
    const dir = project({
      "app.ts": `import { value } from "./lib/broken.js";\nconst v = await Promise.resolve(value);\n`,
      "lib/broken.ts": "export const value = ;\n",
    });
    const result = await server.run(["app.ts"], { cwd: dir });
    expect(result.stderr).toMatch(/^Error: lib\/broken\.ts:1: Expression expected/m);
    expect(result.code).toBe(2);
  });

  test("a package that is not installed is a usage error naming it and the file, exit 2", async () => {
    const dir = project({
      "app.ts": `import { Stub } from "stubrun";
import chunk from "lodash/chunk.js";
const stub = new Stub();
const size = await Promise.resolve(2);
class Uses {
  @stub.function()
  f(): number[][] { return chunk([1, 2, 3], size); }
}
`,
    });
    const result = await server.run(["app.ts"], { cwd: dir });
    expect(result.stderr).toContain('app.ts imports "lodash", which is not installed where the file is: npm install lodash');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(2);
  });

  test("stubrun serve loads such a program, and again after an edit", async () => {
    const dir = project({
      "site.ts": `import { Stub } from "stubrun";
const stub = new Stub("tla-site");
const greeting = await Promise.resolve("hello");
class Site {
  @stub.webEndpoint({ method: "GET" })
  hello(name: string): string { return greeting + " " + name; }
}
`,
    });
    const proc = spawnBin(server, ["serve", "site.ts"], { cwd: dir });
    const url = (await proc.waitFor(/GET (http:\S+\/Site\.hello)/, "stdout"))[1];
    expect(await (await fetch(`${url}?name=ann`)).json()).toBe("hello ann");
    fs.writeFileSync(path.join(dir, "site.ts"), fs.readFileSync(path.join(dir, "site.ts"), "utf8").replace('"hello"', '"welcome"'));
    await proc.waitFor(/^Reloaded site\.ts/m);
    await waitUntil(async () => ((await (await fetch(`${url}?name=ann`)).json()) === "welcome ann" ? true : undefined), {
      what: () => `the reloaded endpoint\n${proc.stderr}`,
    });
    proc.signal("SIGINT");
    expect((await proc.exited).code).toBe(130);
  });
});
