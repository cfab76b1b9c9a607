import { MAX_MESSAGE_BYTES } from "@stubrun/protocol";
import fs from "node:fs";
import path from "node:path";
import { BinProcess, spawnBin, TestServer, waitUntil, writeFixture } from "./harness";
import { createRawApp, rawAppCreate, RawClient, steadySource } from "./raw-client";

/**
 * The WebSocket side cannot be crashed, frozen or exhausted by one client, and the CLI always
 * ends. Each hostile client runs while another user's run has calls in flight; that run must
 * finish undisturbed and the server keep answering.
 */


/** A run whose remote call sleeps for a minute after saying so. */
const SLEEPER_SOURCE = `import { Stub, fn } from "stubrun";
const stub = new Stub("transport-sleeper");
class Sleeper {
  @stub.function()
  async nap(): Promise<void> {
    console.log("napping");
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  }

  @stub.localEntrypoint()
  async main() {
    await fn(this.nap).remote();
  }
}
`;

/** A web endpoint, for `stubrun serve`. */
const WEB_SOURCE = `import { Stub } from "stubrun";
const stub = new Stub("transport-web");
class Web {
  @stub.webEndpoint()
  hello(): string {
    return "hi";
  }
}
`;

const steadyFile = writeFixture("transport-steady.ts", steadySource("transport-steady"));
const webFile = writeFixture("transport-web.ts", WEB_SOURCE);
const sleeperFile = writeFixture("transport-sleeper.ts", SLEEPER_SOURCE);

/** Starts another user's run on `server` and waits until its calls are in flight; the result checks it ended as if nothing happened. */
async function steadyRun(server: TestServer, count: number): Promise<() => Promise<void>> {
  const run = spawnBin(server, ["--quiet", steadyFile, "--count", String(count)]);
  await run.waitFor(/tick 1\n/, "stdout");
  return async () => {
    const r = await run.exited;
    const ticks = Array.from({ length: count }, (_, i) => `tick ${i + 1}\n`).join("");
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `${ticks}${(count * (count + 1)) / 2}\n`, stderr: "" });
  };
}

/** `[[[...]]]`, `depth` arrays deep. */
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

/** A call.start whose arguments are given as raw JSON text. */
const callStartText = (id: number, appId: string, fn: string, argsJson: string) =>
  `{"type":"call.start","id":${id},"appId":"${appId}","function":"${fn}","args":[${argsJson}]}`;

async function healthy(server: TestServer): Promise<void> {
  expect(server.alive).toBe(true);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
}

function expectNoStack(reply: { ok?: boolean; error?: Record<string, unknown> }): void {
  expect(reply.ok).toBe(false);
  expect(Object.keys(reply.error ?? {}).sort()).toEqual(["code", "message", "name"]);
}

afterEach(() => BinProcess.killAll());

describe("transport: hostile messages", () => {
  let server: TestServer;
  let raw: RawClient;
  let appId: string;

  beforeAll(async () => {
    server = await TestServer.start();
    raw = await RawClient.open(server);
    appId = await createRawApp(raw, 1);
  });
  afterAll(async () => {
    await raw?.close();
    await server?.stop();
  });

  test("arguments nested 100,000 deep are refused naming the argument; the server and another run go on", async () => {
    const finished = await steadyRun(server, 8);
    // 200 KB: used to be accepted, then JSON.stringify overflowed the stack on the way to the worker and the server exited.
    raw.send(callStartText(10, appId, "Raw.echo", `1, ${nested(100_000)}`));
    const deep = await raw.reply(10);
    expect(deep.error?.message).toMatch(/^call\.start: argument 2 of Raw\.echo nests arrays and objects more than 256 deep/);
    expectNoStack(deep);
    // Just over the limit (caught by validation rather than by the scan of the raw frame): the same refusal.
    raw.send(callStartText(11, appId, "Raw.echo", nested(257)));
    expect((await raw.reply(11)).error?.message).toMatch(/^call\.start: argument 1 of Raw\.echo nests arrays and objects more than 256 deep/);
    // At the limit: a call like any other.
    raw.send(callStartText(12, appId, "Raw.echo", nested(256)));
    const accepted = await raw.reply(12);
    expect(accepted.ok).toBe(true);
    const result = await raw.result((accepted.value as { callId: string }).callId);
    expect(JSON.stringify(result.value)).toBe(nested(256));
    await finished();
    await healthy(server);
    expect(raw.isOpen).toBe(true);
  });

  test("a 32 MiB message of nested brackets is refused at once, and no other client is dropped", async () => {
    const finished = await steadyRun(server, 12);
    const other = await RawClient.open(server);
    try {
      // Deep and not even valid JSON at the end: this was parsed twice, for seconds each, and the
      // heartbeat check then dropped every client (their calls failed with 1006).
      const head = callStartText(20, appId, "Raw.echo", "");
      const depth = Math.floor((MAX_MESSAGE_BYTES - head.length - 1024) / 2);
      const bomb = callStartText(20, appId, "Raw.echo", nested(depth)) + "x";
      expect(Buffer.byteLength(bomb)).toBeLessThan(MAX_MESSAGE_BYTES);
      raw.send(bomb);
      raw.send(callStartText(21, appId, "Raw.echo", nested(depth)));
      expect((await raw.reply(20)).error?.message).toMatch(/argument 1 of Raw\.echo nests arrays and objects more than 256 deep/);
      expect((await raw.reply(21)).error?.message).toMatch(/argument 1 of Raw\.echo nests arrays and objects more than 256 deep/);
      // A client that only listened meanwhile is still served.
      expect(await other.request({ type: "app.stop", id: 1, appId: "ap-nope" })).toMatchObject({ ok: true, value: { stopped: false } });
      await finished();
      await healthy(server);
      expect(raw.isOpen).toBe(true);
    } finally {
      await other.close();
    }
  });

  test("error replies carry name, message and code, never the server's stack; a function's own error keeps its stack", async () => {
    expectNoStack(await raw.request({ type: "call.start", id: 30, appId: "ap-nope", function: "Raw.echo", args: [] }));
    expectNoStack(await raw.request({ type: "app.explode", id: 31 }));
    raw.send("{not json");
    const notJson = await raw.reply(null);
    expectNoStack(notJson);
    expect(JSON.stringify(notJson)).not.toContain(path.sep + "packages" + path.sep);

    const started = await raw.request({ type: "call.start", id: 32, appId, function: "Raw.boom", args: [] });
    const failed = await raw.result((started.value as { callId: string }).callId);
    expect(failed.ok).toBe(false);
    expect(failed.error?.message).toBe("boom from the function");
    expect(failed.error?.stack).toMatch(/^Error: boom from the function\n\s+at Raw\.boom /);
  });
});

describe("transport: a client that stops reading", () => {
  let server: TestServer;
  const limit = 1024 * 1024;

  beforeAll(async () => {
    server = await TestServer.start({ config: { limits: { maxBufferedBytesPerClient: limit } } });
  });
  afterAll(() => server?.stop());

  test("is given up once it leaves more than maxBufferedBytesPerClient unread: its app stops, the server stays small", async () => {
    const finished = await steadyRun(server, 10);
    const stalled = await RawClient.open(server);
    try {
      const appId = await createRawApp(stalled, 1);
      // 256 MiB of output: the server used to hold all of it for a client that does not read.
      const started = await stalled.request({ type: "call.start", id: 2, appId, function: "Raw.flood", args: [256] });
      expect(started.ok).toBe(true);
      stalled.pauseReading();
      await waitUntil(() => /gave up client \S+: it left \d+ bytes unread, over maxBufferedBytesPerClient \(1048576\); its ephemeral apps stop/.test(server.log), {
        what: () => `the server to give up the client; its log:\n${server.log}`,
      });
      // As for a lost client: its ephemeral app stops and its call ends.
      await waitUntil(
        async () => {
          const app = (await (await server.api(`/api/apps/${appId}`)).json()) as { state: string; runningTasks: number };
          return app.state === "stopped" && app.runningTasks === 0;
        },
        { what: `app ${appId} to stop` },
      );
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1]);
      expect(rssKb).toBeLessThan(300 * 1024);
      await finished();
      await healthy(server);
    } finally {
      await stalled.close();
    }
  });
});

describe("the CLI always ends", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  test("a refused app.create ends the run with exit code 1 and the server's error (no hang)", async () => {
    server = await TestServer.start();
    // The server cannot store uploads: app.create gets an error reply (an internal one, logged with its stack on the server).
    fs.writeFileSync(path.join(server.home, "code"), "not a directory");
    const r = await server.run([steadyFile, "--count", "1"], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: (ENOTDIR|EEXIST)/m);
    expect(r.stderr).not.toMatch(/Created app|Stopped app/);
    const served = await server.run(["serve", webFile], { timeoutMs: 30_000 });
    expect({ code: served.code, stdout: served.stdout }).toEqual({ code: 1, stdout: "" });
    expect(served.stderr).toMatch(/^Error: (ENOTDIR|EEXIST)/m);

    // What the client got: the error without the server's stack, which went to the server's log.
    const raw = await RawClient.open(server);
    try {
      const refused = await raw.request(rawAppCreate(1));
      expectNoStack(refused);
      expect(refused.error?.message).toMatch(/ENOTDIR|EEXIST/);
    } finally {
      await raw.close();
    }
    expect(server.log).toMatch(/internal error handling app\.create from \S+: Error: (ENOTDIR|EEXIST)[^\n]*\n\s+at /);
  });

  test("a message over the server's maxMessageBytes ends the run with exit code 1 and says which limit", async () => {
    server = await TestServer.start({ config: { limits: { maxMessageBytes: 1024 } } });
    const r = await server.run([steadyFile, "--count", "1"], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("closed the connection: a message was over its size limit (maxMessageBytes in the server's config.json)");
    await healthy(server);
  });

  test("when the server is killed mid-run, the CLI prints the real error and no 'Stopped app' line", async () => {
    server = await TestServer.start();
    const run = spawnBin(server, [sleeperFile]);
    await run.waitFor(/napping/, "stdout");
    await server.kill("SIGKILL");
    const r = await run.exited;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: lost the connection to the server at \S+ \(code 1006\)$/m);
    expect(r.stderr).not.toContain("Stopped app");
  });
});
