import path from "node:path";
import { NodeProcess, runNode, writeCallScript, type NodeResult } from "./deploy-helpers";
import { BinProcess, ROOT, TestServer, waitUntil, writeFixture } from "./harness";

/**
 * Issue 14 items 1-2: calls by id (Modal's job-queue pattern) and per-call logs. One Node
 * program spawns a call on a deployed app, prints its id and exits; others get its value with
 * `FunctionCall.fromId(id).get()`, wait with a timeout, cancel it, and follow its logs with
 * `call.logs()`; `GET /api/calls/ID` and `stubrun app logs APP --call ID` show the same.
 */

const APP = "calls-by-id";

const JOBS = writeFixture(
  "calls-by-id-app.ts",
  `import { FunctionCall, Stub } from "stubrun";

const stub = new Stub(${JSON.stringify(APP)});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Jobs {
  @stub.function()
  async slow(x: number, ms = 1500) {
    console.log(\`working on \${x}\`);
    await sleep(ms);
    console.log(\`done with \${x}\`);
    return { x, y: x * 2, at: new Date(0) };
  }

  @stub.function()
  boom(message: string): never {
    throw new RangeError(message);
  }

  /** Gets another call's value by its id, inside a worker (with the app's own credential). */
  @stub.function()
  async collect(id: string) {
    try {
      return { value: await FunctionCall.fromId(id).get() };
    } catch (error) {
      return { error: (error as Error).name, message: (error as Error).message };
    }
  }

  @stub.function()
  async hang() {
    console.log("hanging");
    await sleep(120_000);
  }
}
`,
);

const CALL = writeCallScript("calls-by-id");

/** `node it spawn APP FN ARGS_JSON` prints a call's id; `node it get|cancel|logs ID [timeoutMs]` uses FunctionCall.fromId. */
/** Another app, whose workers may not read the first app's calls. */
const OTHER = writeFixture(
  "calls-by-id-other.ts",
  `import { FunctionCall, Stub } from "stubrun";
const stub = new Stub("calls-by-id-other");
class Other {
  @stub.function()
  async peek(id: string) {
    try {
      return { value: await FunctionCall.fromId(id).get({ timeoutMs: 0 }) };
    } catch (error) {
      return { error: (error as Error).name, message: (error as Error).message };
    }
  }
}
`,
);

const PROGRAM = path.join(
  ROOT,
  writeFixture(
    "calls-by-id-program.cjs",
    `const { lookup, FunctionCall } = require("stubrun");
const [mode, ...rest] = process.argv.slice(2);
const out = (value) => console.log(JSON.stringify(value));
const failure = (e) => ({ error: e.name, message: e.message, stack: e.stack });

(async () => {
  if (mode === "spawn") {
    const [app, name, args] = rest;
    const f = await lookup(app, name);
    const call = await f.spawn(...JSON.parse(args));
    out(call.id);
    // A spawner holds its connection while its calls run (their output comes to it): leave now, the call goes on.
    process.exit(0);
  }
  const call = FunctionCall.fromId(rest[0]);
  if (mode === "get") {
    const options = rest[1] === undefined ? {} : { timeoutMs: Number(rest[1]) };
    try {
      const value = await call.get(options);
      out({ value, atIsDate: value.at instanceof Date });
    } catch (e) {
      out(failure(e));
    }
  } else if (mode === "cancel") {
    await call.cancel();
    await call.get().then((v) => out({ value: v }), (e) => out(failure(e)));
  } else if (mode === "logs") {
    for await (const line of call.logs()) out([line.stream, line.data]);
    out("end");
  }
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`,
  ),
);

function lastJson(r: NodeResult | { stdout: string }): unknown {
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

function done(r: NodeResult): NodeResult {
  if (r.hung || r.code !== 0) throw new Error(`the program failed (exit ${r.code}${r.hung ? ", hung" : ""})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe("calls by id", () => {
  let server: TestServer;
  const node = (args: string[], timeoutMs = 60_000) => runNode(PROGRAM, args, server.env, timeoutMs).then(done);
  const spawnCall = async (name: string, args: unknown[]) => lastJson(await node(["spawn", APP, name, JSON.stringify(args)])) as string;

  beforeAll(async () => {
    server = await TestServer.start();
    const deployed = await server.run(["deploy", JOBS]);
    if (deployed.code !== 0) throw new Error(`deploy failed:\n${deployed.stdout}${deployed.stderr}`);
    const other = await server.run(["deploy", OTHER]);
    if (other.code !== 0) throw new Error(`deploy failed:\n${other.stdout}${other.stderr}`);
  });
  afterEach(async () => {
    await NodeProcess.killAll();
    await BinProcess.killAll();
  });
  afterAll(() => server.stop());

  test("one process spawns a call and exits; another gets its value by id; GET /api/calls/ID shows its state and result", async () => {
    const id = await spawnCall("Jobs.slow", [21, 1500]);
    expect(id).toMatch(/^fc-/);
    // The spawner has exited; the call goes on without it.
    const got = lastJson(await node(["get", id]));
    expect(got).toEqual({ value: { x: 21, y: 42, at: "1970-01-01T00:00:00.000Z" }, atIsDate: true });

    const info = (await (await server.api(`/api/calls/${id}`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ id, functionName: "Jobs.slow", state: "succeeded", attempts: 1 });
    expect(info.result).toEqual({ x: 21, y: 42, at: { $: "date", v: "1970-01-01T00:00:00.000Z" } });
    expect(info.args).toBe("[21,1500]");
    expect(typeof info.durationMs).toBe("number");
    // Read again later, the value is the same.
    expect(lastJson(await node(["get", id]))).toEqual(got);
  });

  test("get({ timeoutMs }) gives up with an error that says so, 0 only looks, and the call goes on", async () => {
    const id = await spawnCall("Jobs.slow", [5, 4000]);
    const polled = lastJson(await node(["get", id, "0"])) as { error: string; message: string };
    expect(polled.error).toBe("CallWaitTimeoutError");
    expect(polled.message).toContain(`call ${id} has not ended yet`);
    const waited = lastJson(await node(["get", id, "300"])) as { error: string; message: string };
    expect(waited.error).toBe("CallWaitTimeoutError");
    expect(waited.message).toContain("did not end within 300 ms");
    expect(lastJson(await node(["get", id]))).toMatchObject({ value: { x: 5, y: 10 } });
  });

  test("a failed call rethrows its error with the remote stack; an unknown id is refused naming it", async () => {
    const id = await spawnCall("Jobs.boom", ["too big"]);
    const failed = lastJson(await node(["get", id])) as { error: string; message: string; stack: string };
    expect(failed.error).toBe("RangeError");
    expect(failed.message).toBe("too big");
    expect(failed.stack).toContain("calls-by-id-app");
    const unknown = lastJson(await node(["get", "fc-nosuch1"])) as { error: string; message: string };
    expect(unknown.error).toBe("RequestRefusedError");
    expect(unknown.message).toContain("no call with id fc-nosuch1");
  });

  test("cancel() by id stops a running call; get() then rejects with CallCancelledError", async () => {
    const id = await spawnCall("Jobs.hang", []);
    await waitUntil(async () => ((await (await server.api(`/api/calls/${id}/logs`)).json()) as unknown[]).length > 0, { what: `call ${id} to print` });
    expect(lastJson(await node(["cancel", id]))).toMatchObject({ error: "CallCancelledError" });
    const info = (await (await server.api(`/api/calls/${id}`)).json()) as { state: string };
    expect(info.state).toBe("cancelled");
  });

  test("call.logs() follows a running call's own lines until it ends; app logs --call shows only that call's", async () => {
    const other = await spawnCall("Jobs.slow", [8, 100]);
    const id = await spawnCall("Jobs.slow", [7, 2500]);
    const follower = new NodeProcess(PROGRAM, ["logs", id], server.env);
    // The first line arrives while the call still runs.
    await follower.waitFor(/working on 7/);
    expect(follower.stdout).not.toContain("done with 7");
    const result = await follower.finish(60_000);
    const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([["stdout", "working on 7\n"], ["stdout", "done with 7\n"], "end"]);

    const logs = await server.run(["app", "logs", APP, "--call", id]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe("working on 7\ndone with 7\n");
    const followed = await server.run(["app", "logs", APP, "--call", other, "--follow"]);
    expect(followed.stdout).toBe("working on 8\ndone with 8\n");
    const wrong = await server.run(["app", "logs", "no-such-app", "--call", id]);
    expect(wrong.code).not.toBe(0);
  });

  test("a function gets a call of its own app by id with the app's credential; another app's workers cannot see it", async () => {
    const id = await spawnCall("Jobs.slow", [3, 200]);
    const collected = await runNode(CALL, [APP, "Jobs.collect", "{}", JSON.stringify([id])], server.env).then(done);
    expect(JSON.parse(collected.stdout)).toEqual({ value: { x: 3, y: 6, at: "1970-01-01T00:00:00.000Z" } });
    const peeked = await runNode(CALL, ["calls-by-id-other", "Other.peek", "{}", JSON.stringify([id])], server.env).then(done);
    expect(JSON.parse(peeked.stdout)).toMatchObject({ error: "RequestRefusedError", message: expect.stringContaining(`no call with id ${id}`) });
  });
});
