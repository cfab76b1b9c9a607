import fs from "node:fs";
import path from "node:path";
import { appById, BinProcess, withTestServer, ROOT, spawnBin, TestServer, tempDir, waitUntil, writeFixture, type RunResult } from "./harness";

/**
 * SPEC §3 `stubrun serve FILE`: "ephemeral app with live web endpoints, reloads on change", until
 * Ctrl-C. Through the real bin against a real server; every test writes its own fixture files,
 * since the tests edit them while they are served.
 */

let counter = 0;

/** A fresh fixture pair (a file and a local helper it imports), unique to this test. */
function servedFiles(version: string, greeting = "hello", extra = "") {
  const slug = `serve-${process.pid}-${++counter}`;
  const helper = writeFixture(`${slug}-helper.ts`, helperSource(greeting));
  const main = writeFixture(`${slug}.ts`, mainSource(slug, version, extra));
  return { slug, main, helper, abs: (file: string) => path.join(ROOT, file) };
}

function helperSource(greeting: string): string {
  return `export function greeting(): string {\n  return ${JSON.stringify(greeting)};\n}\n`;
}

function mainSource(slug: string, version: string, extra = ""): string {
  return `import { Stub, Period } from "stubrun";
import fs from "node:fs";
import { greeting } from "./${slug}-helper";

const stub = new Stub("serve-site");

class Site {
  @stub.webEndpoint({ method: "GET" })
  hello(name = "world"): string {
    return greeting() + " " + name + " " + ${JSON.stringify(version)};
  }
${extra}
}
`;
}

async function fetchJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern.source, pattern.flags.replace("g", "") + "g")) ?? []).length;

describe("stubrun serve", () => {
  let server: TestServer;
  const written: string[] = [];
  withTestServer(
    (s) => (server = s),
    () => written.forEach((file) => fs.rmSync(path.join(ROOT, file), { force: true })),
  );

  /** Starts `stubrun serve FILE` and waits for the app id and the endpoint URLs it prints. */
  async function serve(file: string) {
    const proc = spawnBin(server, ["serve", file]);
    const id = (await proc.waitFor(/Serving app (ap-\S+)/, "stdout"))[1];
    await proc.waitFor(/Site\.hello\s+GET \S+/, "stdout");
    // Said once the watch is in place: edits from now on are seen.
    await proc.waitFor(/Watching its files for changes/, "stderr");
    return { proc, id };
  }

  /** Waits until the serve process has printed `n` "Reloaded" lines. */
  async function reloads(proc: BinProcess, n: number) {
    await waitUntil(() => count(proc.stderr, /^Reloaded /m) >= n, {
      timeoutMs: 30_000,
      what: () => `reload number ${n}\nstdout: ${proc.stdout}\nstderr: ${proc.stderr}`,
    });
  }

  test("prints the endpoint URLs by the stub's name, answers them (by name and by id), reloads on edits to the file and to a local import, stops on Ctrl-C (exit 130)", async () => {
    const dir = tempDir("serve");
    const files = servedFiles(
      "v1",
      "hello",
      `
  @stub.function({ schedule: new Period({ seconds: 1 }) })
  tick(): void {
    fs.appendFileSync(${JSON.stringify(path.join(dir, "ticks"))}, "tick\\n");
  }`,
    );
    written.push(files.main, files.helper);

    const { proc, id } = await serve(files.main);
    const url = `${server.url}/web/${id}/Site.hello`;
    // By the stub's name: the same URL from one serve to the next.
    expect(proc.stdout).toContain(`Site.hello  GET ${server.url}/web/serve-site/Site.hello`);
    expect(await fetchJson(`${server.url}/web/serve-site/Site.hello`)).toEqual({ status: 200, body: "hello world v1" });
    expect(proc.stderr).toMatch(/Ctrl-C/);
    expect(await appById(server, id)).toMatchObject({ state: "ephemeral", name: "serve-site" });

    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v1" });
    expect(await fetchJson(`${url}?name=ann`)).toEqual({ status: 200, body: "hello ann v1" });

    // Editing the file reloads it.
    fs.writeFileSync(files.abs(files.main), fs.readFileSync(files.abs(files.main), "utf8").replace('"v1"', '"v2"'));
    await reloads(proc, 1);
    expect(proc.stderr).toMatch(new RegExp(`^Reloaded ${files.main.replace(/[.]/g, "\\.")}`, "m"));
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v2" });

    // Editing a local file it imports reloads it too.
    fs.writeFileSync(files.abs(files.helper), helperSource("howdy"));
    await reloads(proc, 2);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "howdy world v2" });

    // Still the same app, at its next versions.
    expect(await appById(server, id)).toMatchObject({ state: "ephemeral", version: 3 });

    // A served app is ephemeral: its schedule (every second) never fires.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(fs.existsSync(path.join(dir, "ticks"))).toBe(false);

    proc.signal("SIGINT");
    const done: RunResult = await proc.exited;
    expect(done.code).toBe(130);
    expect((await appById(server, id)).state).toBe("stopped");
    expect((await fetchJson(url)).status).toBe(404);
    expect(fs.existsSync(path.join(dir, "ticks"))).toBe(false);
  }, 90_000);

  test("a syntax error while serving keeps the previous version up and says so; fixing it reloads", async () => {
    const files = servedFiles("v1");
    written.push(files.main, files.helper);
    const { proc, id } = await serve(files.main);
    const url = `${server.url}/web/${id}/Site.hello`;
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v1" });

    const good = fs.readFileSync(files.abs(files.main), "utf8");
    fs.writeFileSync(files.abs(files.main), good.replace('"v1"', '"v2"') + "\nthis is ( not typescript\n");
    await proc.waitFor(/still serving the previous version/);
    expect(proc.stderr).toContain(`${files.main}:`); // the file (and line) at fault
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v1" });
    expect(count(proc.stderr, /^Reloaded /m)).toBe(0);
    expect(proc.running).toBe(true);
    expect((await appById(server, id)).state).toBe("ephemeral");

    // A syntax error in the imported file is caught the same way.
    fs.writeFileSync(files.abs(files.main), good.replace('"v1"', '"v3"'));
    await reloads(proc, 1);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v3" });
    const failuresBefore = count(proc.stderr, /still serving the previous version/);
    fs.writeFileSync(files.abs(files.helper), "export function greeting( {\n");
    await waitUntil(() => count(proc.stderr, /still serving the previous version/) > failuresBefore, {
      timeoutMs: 30_000,
      what: () => `a failed reload for the helper\nstderr: ${proc.stderr}`,
    });
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v3" });

    fs.writeFileSync(files.abs(files.helper), helperSource("hi"));
    await reloads(proc, 2);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hi world v3" });

    proc.signal("SIGINT");
    expect((await proc.exited).code).toBe(130);
    expect((await appById(server, id)).state).toBe("stopped");
  }, 90_000);

  /** Saves the way many editors do: write a temporary file beside it, then rename it over the file (a new inode). */
  function atomicSave(file: string, text: string): void {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }

  test("an editor's atomic save (a temporary file renamed over the file) reloads, save after save", async () => {
    const files = servedFiles("v1");
    written.push(files.main, files.helper);
    const { proc, id } = await serve(files.main);
    const url = `${server.url}/web/${id}/Site.hello`;

    atomicSave(files.abs(files.main), mainSource(files.slug, "v2"));
    await reloads(proc, 1);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v2" });

    atomicSave(files.abs(files.helper), helperSource("howdy"));
    await reloads(proc, 2);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "howdy world v2" });

    atomicSave(files.abs(files.main), mainSource(files.slug, "v3"));
    await reloads(proc, 3);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "howdy world v3" });

    proc.signal("SIGINT");
    expect((await proc.exited).code).toBe(130);
  }, 90_000);

  test("a broken atomic save keeps the previous version; the fix, saved the same way, reloads to the fix; so does a deleted file written again", async () => {
    const files = servedFiles("v1");
    written.push(files.main, files.helper);
    const { proc, id } = await serve(files.main);
    const url = `${server.url}/web/${id}/Site.hello`;

    atomicSave(files.abs(files.main), mainSource(files.slug, "v2") + "\nthis is ( not typescript\n");
    await proc.waitFor(/still serving the previous version/);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v1" });

    atomicSave(files.abs(files.main), mainSource(files.slug, "v3"));
    await reloads(proc, 1);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "hello world v3" });

    // A helper deleted (a failed reload), then written again (as a checkout does): seen too.
    const failuresBefore = count(proc.stderr, /still serving the previous version/);
    fs.rmSync(files.abs(files.helper));
    await waitUntil(() => count(proc.stderr, /still serving the previous version/) > failuresBefore, {
      timeoutMs: 30_000,
      what: () => `a failed reload for the deleted helper\nstderr: ${proc.stderr}`,
    });
    fs.writeFileSync(files.abs(files.helper), helperSource("back"));
    await reloads(proc, 2);
    expect(await fetchJson(url)).toEqual({ status: 200, body: "back world v3" });

    proc.signal("SIGINT");
    expect((await proc.exited).code).toBe(130);
  }, 90_000);

  test("a web endpoint added while serving is served after the reload, and its URL printed", async () => {
    const files = servedFiles("v1");
    written.push(files.main, files.helper);
    const { proc, id } = await serve(files.main);

    fs.writeFileSync(
      files.abs(files.main),
      mainSource(
        files.slug,
        "v1",
        `
  @stub.webEndpoint({ method: "POST" })
  add(a: number, b: number): number {
    return a + b;
  }`,
      ),
    );
    await reloads(proc, 1);
    // The printed URL names the app by its stub's name (stable across serves); the id works too.
    const addUrl = `${server.url}/web/serve-site/Site.add`;
    await proc.waitFor(new RegExp(`Site\\.add\\s+POST ${addUrl.replace(/[.]/g, "\\.")}`), "stdout");
    const r = await fetchJson(addUrl, { method: "POST", body: JSON.stringify({ a: 2, b: "3" }), headers: { "content-type": "application/json" } });
    expect(r).toEqual({ status: 200, body: 5 });

    proc.signal("SIGINT");
    expect((await proc.exited).code).toBe(130);
  }, 90_000);

  test("a file without web endpoints is a usage error (exit 2) that says how to run it instead", async () => {
    const file = writeFixture(
      `serve-${process.pid}-none.ts`,
      `import { Stub } from "stubrun";

const stub = new Stub("serve-none");

class Plain {
  @stub.function()
  double(x: number): number {
    return x * 2;
  }
}
`,
    );
    written.push(file);
    const r = await server.run(["serve", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no @stub\.webEndpoint\(\)/);
    expect(r.stderr).toContain(`npx stubrun ${file}`);
    expect(r.stdout).toBe("");
  });

  test("a missing file or a file with a syntax error is a usage error (exit 2) before anything is served", async () => {
    const missing = await server.run(["serve", "test/e2e/.fixtures/serve-no-such-file.ts"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/serve-no-such-file\.ts/);

    const broken = writeFixture(`serve-${process.pid}-broken.ts`, `import { Stub } from "stubrun";\nconst stub = new Stub("serve-broken");\nclass X {\n  @stub.webEndpoint()\n  ping( { return 1; }\n}\n`);
    written.push(broken);
    const r = await server.run(["serve", broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${broken}:`);
    expect(r.stdout).toBe("");
  });
});
