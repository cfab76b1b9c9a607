import { DEFAULT_FUNCTION_OPTIONS } from "@stubrun/protocol";
import fs from "node:fs";
import path from "node:path";
import { appList, TestServer, writeFixture, type RunResult } from "./harness";
import { RawClient } from "./raw-client";

/**
 * Issue 7 points 3, 4 and 8: what a deploy or a run may not store. A cron that never fires, an
 * option past the server's limits, an app name shaped like an app id, an upload whose files
 * cannot be written: each is refused with a message that says what and how to fix it, nothing is
 * stored, and the server goes on serving.
 */

type Reply = { type: string; id?: number; ok?: boolean; value?: unknown; error?: { name: string; message: string } };

type Request = { id: number; type: string; [key: string]: unknown };

/**
 * Sends requests one after another on one fresh WebSocket, as a client other than the SDK could,
 * and returns their replies; a request given as a function is made from the replies before it.
 */
async function rawRequests(server: TestServer, messages: (Request | ((before: Reply[]) => Request))[]): Promise<Reply[]> {
  const client = await RawClient.open(server);
  try {
    const replies: Reply[] = [];
    for (const item of messages) {
      const message = typeof item === "function" ? item(replies) : item;
      replies.push((await client.request(message)) as Reply);
    }
    return replies;
  } finally {
    await client.close();
  }
}

async function rawRequest(server: TestServer, message: Request): Promise<Reply> {
  return (await rawRequests(server, [message]))[0];
}

const ENTRY = `"use strict";\nexports.ok = 1;\n`;

/** An `app.deploy` of one scheduled function, as a hand-written client would send it. */
function scheduledDeploy(id: number, name: string, expression: string) {
  const fn = {
    name: "Tick.tock",
    className: "Tick",
    methodName: "tock",
    kind: "function",
    options: { ...DEFAULT_FUNCTION_OPTIONS, schedule: { kind: "cron", expression, timezone: "UTC" } },
    params: [],
  };
  return { type: "app.deploy", id, manifest: { name, entry: "main.js", projectRoot: "/tmp", functions: [fn] }, files: [{ path: "main.js", code: ENTRY }] };
}

/** A file whose one function has `options`, with an entrypoint that calls it. */
function optionsFixture(slug: string, options: string): string {
  return writeFixture(
    `bad-deploys-${slug}.ts`,
    `import { Stub, fn } from "stubrun";

const stub = new Stub("bad-${slug}");

class Limits {
  @stub.function(${options})
  run(): string {
    return "ran";
  }

  @stub.localEntrypoint()
  async main() {
    console.log(await fn(this.run).remote());
  }
}
`,
  );
}

function seen(r: RunResult) {
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

describe("a deploy that could never run is refused, and nothing is stored", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start({ config: { limits: { maxWorkersPerFunction: 16 } } })));
  afterAll(() => server.stop());

  test.each([
    ["0 0 30 2 *", "February has no day 30"],
    ["0 0 31 4 *", "April has no day 31"],
  ])("a cron that never fires (%s): refused naming the function, the expression and why; the server starts again", async (expression, why) => {
    const reply = await rawRequest(server, scheduledDeploy(1, "never-fires", expression));
    expect(reply.ok).toBe(false);
    expect(reply.error?.message).toBe(`function Tick.tock: schedule: cron "${expression}" never fires: ${why}; fix the expression`);
    expect((await appList(server)).map((a) => a.name)).not.toContain("never-fires");
    // Nothing was stored that could stop the server from starting again.
    await server.stop({ keepHome: true });
    server = await TestServer.start({ home: server.home });
    expect((await server.run(["examples/hello.ts"])).stdout).toBe("Hello world!\n");
  });

  test.each([
    ["timeout", "{ timeout: 2 * 86_400 }", /^Error: function Limits\.run: option "timeout" is 172800 s, over the server's limit of 86400 s; lower it, or raise limits\.maxTimeoutSeconds in \$STUBRUN_HOME\/config\.json/m],
    ["idle", "{ containerIdleTimeout: 30 * 86_400 }", /option "containerIdleTimeout" is 2592000 s, over the server's limit of 86400 s; .*limits\.maxContainerIdleTimeoutSeconds/],
    ["concurrency", "{ concurrencyLimit: 17 }", /option "concurrencyLimit" is 17, over the server's limit of 16; .*limits\.maxWorkersPerFunction/],
    ["retries", "{ retries: 11 }", /option "retries\.maxRetries" is 11, over the server's limit of 10; .*limits\.maxRetries/],
    ["delay", "{ retries: { maxRetries: 1, maxDelayMs: 2 * 3_600_000 } }", /option "retries\.maxDelayMs" is 7200000 ms, over the server's limit of 3600000 ms; .*limits\.maxRetryDelayMs/],
    ["keepwarm", "{ keepWarm: 3, concurrencyLimit: 2 }", /option "keepWarm" is 3, over its concurrencyLimit of 2/],
  ])("an option over the server's limit (%s) is refused at deploy (exit 1), saying how to raise the limit", async (slug, options, message) => {
    const file = optionsFixture(slug, options);
    const r = await server.run(["deploy", file]);
    expect(seen(r)).toEqual({ code: 1, stdout: "", stderr: expect.stringMatching(message) });
    expect((await appList(server)).map((a) => a.name)).not.toContain(`bad-${slug}`);
  });

  test("the same check holds for app.create (a run) and app.update (serve's reload)", async () => {
    const fn = { name: "Limits.run", className: "Limits", methodName: "run", kind: "function", options: { ...DEFAULT_FUNCTION_OPTIONS, timeout: 2 * 86_400 }, params: [] };
    const manifest = { entry: "main.js", projectRoot: "/tmp", functions: [fn] };
    const files = [{ path: "main.js", code: ENTRY }];
    const create = await rawRequest(server, { type: "app.create", id: 5, manifest, files });
    expect(create.error?.message).toMatch(/^function Limits\.run: option "timeout" is 172800 s, over the server's limit of 86400 s; .*limits\.maxTimeoutSeconds/);
    const fine = { ...manifest, functions: [{ ...fn, options: DEFAULT_FUNCTION_OPTIONS }] };
    const [created, update] = await rawRequests(server, [
      { type: "app.create", id: 6, manifest: fine, files },
      ([first]) => ({ type: "app.update", id: 7, appId: (first.value as { appId: string }).appId, manifest, files }),
    ]);
    expect(created.ok).toBe(true);
    expect(update.error?.message).toMatch(/^function Limits\.run: option "timeout" is 172800 s/);
  });

  test("within the limits, the same function deploys and runs", async () => {
    const r = await server.run([optionsFixture("fine", "{ timeout: 86_400, concurrencyLimit: 16, keepWarm: 1, retries: 10 }")]);
    expect(seen(r)).toEqual({ code: 0, stdout: "ran\n", stderr: expect.any(String) });
  });

  test("an app name shaped like an app id is refused at deploy, saying why", async () => {
    const id = "ap-AbCdE12345";
    const r = await server.run(["deploy", "examples/hello.ts", "--name", id]);
    expect(seen(r)).toEqual({ code: 1, stdout: "", stderr: expect.stringContaining(`app name "${id}" looks like an app id`) });
    expect((await appList(server)).map((a) => a.name)).not.toContain(id);
    // Other names that merely start like one are fine.
    expect((await server.run(["deploy", "examples/hello.ts", "--name", "ap-hello"])).code).toBe(0);
  });

  test("an upload whose files cannot be written is refused, and leaves no staging folder behind", async () => {
    const manifest = { entry: "main.js", projectRoot: "/tmp", functions: [] };
    const both = await rawRequest(server, { type: "app.create", id: 2, manifest, files: [{ path: "main.js", code: ENTRY }, { path: "lib", code: "" }, { path: "lib/a.js", code: "" }] });
    expect(both.error?.message).toBe('the upload has "lib" both as a file and as the folder of "lib/a.js"');
    const twice = await rawRequest(server, { type: "app.create", id: 3, manifest, files: [{ path: "main.js", code: ENTRY }, { path: "./main.js", code: "other" }] });
    expect(twice.error?.message).toBe('the upload has the file "./main.js" twice');
    // A name the file system refuses (over 255 bytes): the write fails half-way.
    const long = await rawRequest(server, { type: "app.create", id: 4, manifest, files: [{ path: "main.js", code: ENTRY }, { path: `${"x".repeat(300)}.js`, code: "" }] });
    expect(long.ok).toBe(false);
    expect(long.error?.message).toMatch(/ENAMETOOLONG/);
    expect(fs.readdirSync(path.join(server.home, "code")).filter((d) => d.includes(".tmp-"))).toEqual([]);
    expect((await server.run(["examples/hello.ts"])).stdout).toBe("Hello world!\n");
  });
});
