import path from "node:path";
import { NodeProcess, runNode } from "./deploy-helpers";
import { BinProcess, ROOT, spawnBin, TestServer, writeFixture } from "./harness";

/**
 * Issue 14 item 4: Dicts and Queues on the server, shared by functions, entrypoints and any
 * program. The workers of a .map increment one counter and feed one Queue that the local
 * entrypoint drains (nothing lost or counted twice); a get waits for a put from another
 * process; named objects outlive a restart, ephemeral ones go with their app; the `dict` and
 * `queue` commands read, clear and delete them, and mistakes say what to do.
 */

const MAP = writeFixture(
  "objects-map.ts",
  `import { Stub, fn, Dict, Queue } from "stubrun";

const stub = new Stub("objects-map");
const counter = Dict.fromName<string, number>("om-counters", { createIfMissing: true });
const results = Queue.fromName<number>("om-results", { createIfMissing: true });

class Work {
  @stub.function({ concurrencyLimit: 4 })
  async square(i: number): Promise<void> {
    await counter.update("n", (n = 0) => n + 1);
    await results.put(i * i);
  }

  @stub.localEntrypoint()
  async main(count = 100): Promise<string> {
    for await (const _ of fn(this.square).map(Array.from({ length: count }, (_, i) => i))) void _;
    const got: number[] = [];
    for await (const v of results.iterate({ timeoutMs: 0 })) got.push(v);
    const scratch = Dict.ephemeral<string, string>();
    await scratch.put("k", "v");
    const sum = got.reduce((a, b) => a + b, 0);
    return JSON.stringify({ counter: await counter.get("n"), drained: got.length, distinct: new Set(got).size, sum, scratch: await scratch.get("k") });
  }
}
`,
);

const WAIT = writeFixture(
  "objects-wait.ts",
  `import { Stub, fn, Queue } from "stubrun";

const stub = new Stub("objects-wait");
const inbox = Queue.fromName<string>("ow-inbox", { createIfMissing: true });

class Waiter {
  @stub.function()
  async take(): Promise<string | undefined> {
    console.log("waiting");
    return inbox.get({ timeoutMs: 60_000 });
  }

  @stub.localEntrypoint()
  async main(): Promise<string> {
    const nothing = await inbox.get({ timeoutMs: 50 });
    const got = await fn(this.take).remote();
    return \`before: \${String(nothing)}, got: \${got}\`;
  }
}
`,
);

/** A plain Node program (no app) that puts and reads, printing one JSON line per step. */
const PROGRAM = path.join(
  ROOT,
  writeFixture(
    "objects-program.cjs",
    `const { Dict, Queue } = require("stubrun");
const [step] = process.argv.slice(2);
const out = (label, value) => console.log(JSON.stringify([label, value]));

(async () => {
  if (step === "put") {
    await Queue.fromName("ow-inbox").put("hello from another process");
    return;
  }
  try {
    await Dict.fromName("never-made").get("x");
  } catch (error) {
    out("missing", error.message);
  }
  try {
    Dict.ephemeral();
  } catch (error) {
    out("ephemeral", error.message);
  }
  const q = Queue.fromName("parts", { createIfMissing: true });
  await q.putMany([1, 2, 3], { partition: "a" });
  await q.put(new Date(0), { partition: "b" });
  out("len a", await q.len({ partition: "a" }));
  out("len total", await q.len({ total: true }));
  out("get b", (await q.get({ partition: "b", timeoutMs: 0 })) instanceof Date);
  out("getMany a", await q.getMany(2, { partition: "a" }));
  out("default empty", (await q.get({ timeoutMs: 0 })) === undefined);
  const d = Dict.fromName("things", { createIfMissing: true });
  await d.put(7, new Map([["x", 1n]]));
  out("map", (await d.get(7)) instanceof Map);
  out("putIfAbsent", [await d.putIfAbsent("once", 1), await d.putIfAbsent("once", 2), await d.get("once")]);
  out("keys", await d.keys());
  out("contains", [await d.contains("once"), await d.delete("once"), await d.contains("once")]);
  out("len", await d.len());
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`,
  ),
);

function lines(stdout: string): Record<string, unknown> {
  return Object.fromEntries(stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as [string, unknown]));
}

describe("Dicts and Queues", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterEach(async () => {
    await BinProcess.killAll();
    await NodeProcess.killAll();
  });
  afterAll(() => server?.stop());

  test("a .map's workers increment one counter and feed one Queue the entrypoint drains: nothing lost or counted twice", async () => {
    const r = await server.run(["--quiet", MAP, "--count", "100"]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ counter: 100, drained: 100, distinct: 100, sum: 328_350, scratch: "v" });
    expect(r.code).toBe(0);
    // The named ones stay; the run's ephemeral Dict went with its app.
    const list = await server.run(["dict", "list", "--json"]);
    const dicts = JSON.parse(list.stdout) as { name: string; app: string | null; len: number }[];
    expect(dicts).toEqual([expect.objectContaining({ name: "om-counters", app: null, len: 1 })]);
    const get = await server.run(["dict", "get", "om-counters", "n"]);
    expect(get.stdout).toBe("100\n");
  });

  test("a get waits for a put from another process; with a timeout and nothing put it gives undefined", async () => {
    const run = spawnBin(server, ["--quiet", WAIT]);
    await run.waitFor(/waiting/, "stdout");
    const put = await runNode(PROGRAM, ["put"], server.env);
    expect(put.code).toBe(0);
    const r = await run.exited;
    expect(r.stdout).toContain("before: undefined, got: hello from another process\n");
    expect(r.code).toBe(0);
  });

  test("any program uses them with the argument codec, partitions, compare-and-set, and errors that say what to do", async () => {
    const r = await runNode(PROGRAM, [], server.env);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.missing).toContain('no Dict named "never-made" on this server; create it with Dict.fromName("never-made", { createIfMissing: true })');
    expect(out.ephemeral).toContain("Dict.ephemeral() belongs to a stubrun app");
    expect(out["len a"]).toBe(3);
    expect(out["len total"]).toBe(4);
    expect(out["get b"]).toBe(true);
    expect(out["getMany a"]).toEqual([1, 2]);
    expect(out["default empty"]).toBe(true);
    expect(out.map).toBe(true);
    expect(out.putIfAbsent).toEqual([true, false, 1]);
    expect(out.keys).toEqual([7, "once"]);
    expect(out.contains).toEqual([true, true, false]);
    expect(out.len).toBe(1);
  });

  test("the queue commands peek, clear and delete; mistakes exit 2", async () => {
    await runNode(PROGRAM, [], server.env); // leaves a value in partition "a" of "parts" (and one per earlier run)
    const list = await server.run(["queue", "list"]);
    expect(list.stdout).toMatch(/^NAME\s+VALUES\s+PARTITIONS\s+APP\s+CREATED\n/);
    expect(list.stdout).toMatch(/parts\s+\d+\s+a:\d+/);
    // What the program left in "a", in order (each run puts 1, 2, 3 and takes the first two).
    const peek = await server.run(["queue", "peek", "parts", "100", "--partition", "a"]);
    expect(peek.stdout).toMatch(/^(\d\n)+$/);
    expect(peek.stdout.endsWith("2\n3\n")).toBe(true);
    const clear = await server.run(["queue", "clear", "parts", "--all", "--yes"]);
    expect(clear.stderr).toMatch(/Cleared Queue parts: \d+ values removed/);
    const missing = await server.run(["queue", "peek", "no-such-queue"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no Queue named "no-such-queue"; see them with: npx stubrun queue list');
    const unconfirmed = await server.run(["queue", "delete", "parts"]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain("confirm with --yes");
    const deleted = await server.run(["queue", "delete", "parts", "--yes"]);
    expect(deleted.code).toBe(0);
    expect((await server.run(["queue", "list", "--json"])).stdout).not.toContain('"parts"');
  });

  test("the dict commands read, clear and delete", async () => {
    await runNode(PROGRAM, [], server.env);
    const items = await server.run(["dict", "items", "things"]);
    expect(items.stdout).toBe(`7\t{"x":"1"}\n`);
    const numeric = await server.run(["dict", "get", "things", "7"]);
    expect(numeric.code).toBe(1);
    expect(numeric.stderr).toContain("a key that is not a string needs --json-key");
    expect((await server.run(["dict", "get", "things", "7", "--json-key"])).stdout).toBe(`{"x":"1"}\n`);
    expect((await server.run(["dict", "clear", "things", "--yes"])).stderr).toContain("Cleared Dict things: 1 entries removed");
    expect((await server.run(["dict", "delete", "things", "--yes"])).code).toBe(0);
    const gone = await server.run(["dict", "items", "things"]);
    expect(gone.code).toBe(2);
  });

  test("named ones outlive a restart of the server", async () => {
    await server.stop({ keepHome: true });
    server = await TestServer.start({ home: server.home });
    expect((await server.run(["dict", "get", "om-counters", "n"])).stdout).toBe("100\n");
  });
});
