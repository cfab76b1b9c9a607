import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { RawClient } from "./raw-client";
import { appList, BinProcess, removeTempDirs, tempDir, TestServer, writeFixture, type RunResult } from "./harness";

/**
 * SPEC §2 Secrets and §3 `secret create | list | delete`, through the real bin against a real
 * server: the CLI commands, precedence (stub then function, in order), a missing secret refusing
 * the run and the deploy, values kept out of every output, page and answer, a restart, --force.
 */

const NAMED_VALUE = "tops3cret-named-7731";
const OBJECT_VALUE = "tops3cret-object-4412";
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** Stub: sec-a by name, then an object. Show: sec-b by name, then an object. Plain: the stub's only. */
const PRECEDENCE = writeFixture(
  "secrets-precedence.ts",
  `import { Stub, Secret, fn } from "stubrun";
import { createHash } from "node:crypto";

const stub = new Stub("secrets-app", {
  secrets: [Secret.fromName("sec-a"), Secret.fromObject({ SHARED: "stub-object", STUB_OBJ: ${JSON.stringify(OBJECT_VALUE)} })],
});
const sha = (t?: string) => (t === undefined ? "none" : createHash("sha256").update(t).digest("hex"));

class Secrets {
  @stub.function({ secrets: [Secret.fromName("sec-b"), Secret.fromObject({ B_OVER: "function-object" })] })
  async show() {
    console.log("show ran with " + Object.keys(process.env).filter((k) => /^(A_KEY|SHARED|B_OVER|STUB_OBJ)$/.test(k)).sort().join(","));
    // A worker's own credential cannot read the secrets API.
    const api = await fetch(process.env.STUBRUN_SERVER_URL + "/api/secrets", { headers: { authorization: "Bearer " + process.env.STUBRUN_TOKEN } });
    return { shared: process.env.SHARED, bOver: process.env.B_OVER, a: sha(process.env.A_KEY), obj: sha(process.env.STUB_OBJ), api: api.status };
  }

  @stub.function()
  plain() {
    return { shared: process.env.SHARED, bOver: process.env.B_OVER ?? "none", a: sha(process.env.A_KEY) };
  }

  @stub.localEntrypoint()
  async main() {
    const local = process.env.A_KEY === undefined && process.env.SHARED === undefined;
    console.log(JSON.stringify({ show: await fn(this.show).remote(), plain: await fn(this.plain).remote(), localClean: local }));
  }
}
`,
);

const MISSING = writeFixture(
  "secrets-missing.ts",
  `import { Stub, Secret, fn } from "stubrun";

const stub = new Stub("secrets-missing", { secrets: [Secret.fromName("sec-nowhere")] });

class Missing {
  @stub.function()
  f() {
    return 1;
  }

  @stub.localEntrypoint()
  async main() {
    console.log("entrypoint ran");
    console.log(await fn(this.f).remote());
  }
}
`,
);

const READ_V = writeFixture(
  "secrets-read-v.ts",
  `import { Stub, Secret } from "stubrun";

const stub = new Stub("secrets-read-v", { secrets: [Secret.fromName("sec-v")] });

class ReadV {
  @stub.function()
  v() {
    return process.env.V;
  }
}
`,
);

/** What a result shows, for a failing expectation. */
const seen = (r: RunResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

afterEach(() => BinProcess.killAll());
afterAll(() => removeTempDirs());

describe("secret commands", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test("create, list (names, keys, dates; never values), --json, an existing name needs --force, delete", async () => {
    expect(seen(await server.run(["secret", "create", "cmd-one", `K1=${NAMED_VALUE}`, "K2=x=y"]))).toMatchObject({ code: 0, stderr: expect.stringContaining("Created secret cmd-one (keys: K1, K2)") });
    const again = await server.run(["secret", "create", "cmd-one", `K1=${NAMED_VALUE}`]);
    expect(seen(again)).toMatchObject({ code: 1, stderr: expect.stringContaining('secret "cmd-one" already exists') });
    expect(again.stderr + again.stdout).not.toContain(NAMED_VALUE);
    expect(seen(await server.run(["secret", "create", "cmd-one", "K3=z", "--force"]))).toMatchObject({ code: 0, stderr: expect.stringContaining("Replaced secret cmd-one (keys: K3)") });

    const list = await server.run(["secret", "list"]);
    expect(seen(list)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^NAME\s+KEYS\s+CREATED\s+UPDATED\ncmd-one\s+K3\s+\d{4}-\d\d-\d\d /) });
    const json = JSON.parse((await server.run(["secret", "list", "--json"])).stdout) as { name: string; keys: string[]; createdAt: string }[];
    expect(json).toEqual([{ name: "cmd-one", keys: ["K3"], createdAt: expect.any(String), updatedAt: expect.any(String) }]);

    expect(seen(await server.run(["secret", "create", "bad name", "K=v"]))).toMatchObject({ code: 2 });
    expect(seen(await server.run(["secret", "create", "cmd-two"]))).toMatchObject({ code: 2, stderr: expect.stringContaining("KEY=VALUE") });
    expect(seen(await server.run(["secret", "create", "cmd-two", "1BAD=v"]))).toMatchObject({ code: 2 });

    expect(seen(await server.run(["secret", "delete", "cmd-one"]))).toMatchObject({ code: 0, stderr: "Deleted secret cmd-one\n" });
    expect((await server.run(["secret", "list", "--json"])).stdout).toBe("[]\n");
    expect(seen(await server.run(["secret", "delete", "cmd-one", "--yes"]))).toMatchObject({ code: 2, stderr: expect.stringContaining('no secret named "cmd-one"') });
  });

  test("--from-dotenv reads comments, export and quotes; pairs on the command line win", async () => {
    const dir = tempDir("dotenv");
    const file = path.join(dir, ".env");
    fs.writeFileSync(file, `# a comment\nexport FROM_FILE=one\nQUOTED="two words"\nSINGLE='three'\nOVERRIDDEN=file\n\n`);
    expect(seen(await server.run(["secret", "create", "dotenv", "--from-dotenv", file, "OVERRIDDEN=cli"]))).toMatchObject({ code: 0 });
    const [secret] = JSON.parse((await server.run(["secret", "list", "--json"])).stdout) as { keys: string[] }[];
    expect(secret.keys.sort()).toEqual(["FROM_FILE", "OVERRIDDEN", "QUOTED", "SINGLE"]);
    expect(seen(await server.run(["secret", "create", "nofile", "--from-dotenv", path.join(dir, "absent")]))).toMatchObject({ code: 2, stderr: expect.stringContaining("ENOENT") });
    await server.run(["secret", "delete", "dotenv"]);
  });

  test("the secrets API needs the full token", async () => {
    expect((await fetch(`${server.url}/api/secrets`)).status).toBe(401);
    expect((await server.api("/api/secrets")).status).toBe(200);
  });
});

describe("secrets in functions", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test("a missing named secret fails the run and the deploy before anything runs, naming it (exit 1)", async () => {
    const run = await server.run([MISSING]);
    expect(seen(run)).toMatchObject({ code: 1, stdout: "", stderr: expect.stringContaining('secret "sec-nowhere" does not exist on this server; create it with: npx stubrun secret create sec-nowhere KEY=VALUE') });
    const deploy = await server.run(["deploy", MISSING]);
    expect(seen(deploy)).toMatchObject({ code: 1, stderr: expect.stringContaining('secret "sec-nowhere" does not exist') });
    expect((await appList(server)).some((a) => a.name === "secrets-missing" && a.state === "deployed")).toBe(false);
  });

  test("precedence: stub's then the function's, in order; values reach the worker only and appear in no output, log, page or answer", async () => {
    expect((await server.run(["secret", "create", "sec-a", `A_KEY=${NAMED_VALUE}`, "SHARED=named-a"])).code).toBe(0);
    expect((await server.run(["secret", "create", "sec-b", "SHARED=named-b", "B_OVER=named-b"])).code).toBe(0);

    const run = await server.run([PRECEDENCE]);
    expect(seen(run)).toMatchObject({ code: 0 });
    const out = JSON.parse(run.stdout.split("\n").filter(Boolean).pop() as string) as Record<string, Record<string, unknown>> & { localClean: boolean };
    // The function's secrets win over the stub's; within a list a later one wins (the object over sec-b's B_OVER).
    expect(out.show).toEqual({ shared: "named-b", bOver: "function-object", a: sha(NAMED_VALUE), obj: sha(OBJECT_VALUE), api: 403 });
    // The stub's object comes after sec-a, so its SHARED wins there; plain has none of show's.
    expect(out.plain).toEqual({ shared: "stub-object", bOver: "none", a: sha(NAMED_VALUE) });
    expect(out.localClean).toBe(true);
    expect(run.stdout).toContain("show ran with A_KEY,B_OVER,SHARED,STUB_OBJ");

    const deploy = await server.run(["deploy", PRECEDENCE]);
    expect(seen(deploy)).toMatchObject({ code: 0 });

    // What lookup() and rollback answer: keys of a fromObject secret at most.
    const raw = await RawClient.open(server);
    raw.send({ type: "app.lookup", id: 1, name: "secrets-app", function: "Secrets.show" });
    const lookedUp = JSON.stringify(await raw.take((m) => m.type === "reply" && m.id === 1, "the lookup reply"));
    raw.socket.close();
    expect(lookedUp).toContain("B_OVER");
    // A version that names a secret deleted since cannot be rolled back to.
    expect((await server.run(["secret", "delete", "sec-b"])).code).toBe(0);
    const rollback = await server.run(["app", "rollback", "secrets-app", "1"]);
    expect(rollback.code).not.toBe(0);
    expect(rollback.stderr).toContain('secret "sec-b" does not exist');
    expect((await server.run(["secret", "create", "sec-b", "SHARED=named-b", "B_OVER=named-b"])).code).toBe(0);

    const app = (await appList(server)).find((a) => a.name === "secrets-app" && a.state === "stopped");
    expect(app).toBeDefined();
    const id = (app as { id: string }).id;
    const outputs = [
      run.stdout,
      run.stderr,
      deploy.stdout,
      deploy.stderr,
      lookedUp,
      rollback.stdout + rollback.stderr,
      JSON.stringify(seen(await server.run(["app", "logs", id]))),
      JSON.stringify(seen(await server.run(["app", "list", "--json"]))),
      JSON.stringify(seen(await server.run(["app", "history", "secrets-app"]))),
      JSON.stringify(seen(await server.run(["secret", "list"]))),
      JSON.stringify(seen(await server.run(["secret", "list", "--json"]))),
      await (await server.api(`/api/apps/${id}`)).text(),
      await (await server.api("/api/apps/secrets-app")).text(),
      await (await server.api(`/api/apps/${id}/calls`)).text(),
      await (await server.api(`/api/apps/${id}/logs`)).text(),
      await (await server.api("/api/secrets")).text(),
      await (await server.api(`/apps`)).text(),
      await (await server.api(`/apps/${id}`)).text(),
      await (await server.api(`/apps/secrets-app`)).text(),
      server.log,
    ];
    expect(outputs.join("\n")).toContain("show ran with"); // the logs were read
    for (const text of outputs) {
      expect(text).not.toContain(NAMED_VALUE);
      expect(text).not.toContain(OBJECT_VALUE);
    }
  });
});

describe("a stored secret", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test("is stored 0600, survives a restart, and a value replaced with --force is what the next run sees", async () => {
    expect((await server.run(["secret", "create", "sec-v", "V=one"])).code).toBe(0);
    expect(fs.statSync(path.join(server.home, "state.db")).mode & 0o777).toBe(0o600);
    expect(seen(await server.run([READ_V]))).toMatchObject({ code: 0, stdout: "one\n" });

    await server.stop({ keepHome: true });
    server = await TestServer.start({ home: server.home });
    expect(fs.statSync(path.join(server.home, "state.db")).mode & 0o777).toBe(0o600);
    expect(seen(await server.run([READ_V]))).toMatchObject({ code: 0, stdout: "one\n" });

    expect((await server.run(["secret", "create", "sec-v", "V=two"])).code).toBe(1);
    expect((await server.run(["secret", "create", "sec-v", "V=two", "--force"])).code).toBe(0);
    expect(seen(await server.run([READ_V]))).toMatchObject({ code: 0, stdout: "two\n" });
  });
});
