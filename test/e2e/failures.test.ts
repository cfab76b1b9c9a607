import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, runBin, TestServer, writeFixture, type RunResult } from "./harness";
import { TestHost, testWithTestHost } from "./test-host";

/**
 * Bad input and faults through the real bin and a real server: remote errors, values that cannot
 * cross the wire, workers that exit or crash mid-call, broken files, unreachable servers, plus
 * the values that do cross the wire and the spawn/map/cancel/local call forms.
 */

const THROW_SOURCE = `import { Stub, fn, WorkerCrashedError } from "stubrun";

const stub = new Stub("failures-throw");

class QuotaExceeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuotaExceeded";
  }
}

class Point {
  constructor(readonly x: number) {}
  norm() { return Math.abs(this.x); }
}

class Thrower {
  @stub.function()
  syncThrow(): number {
    throw new Error("sync boom");
  }

  @stub.function()
  async asyncThrow(): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 10));
    throw new TypeError("async boom");
  }

  @stub.function()
  custom(): number {
    throw new QuotaExceeded("custom boom");
  }

  @stub.function()
  returnsFunction() {
    return { ok: true, callback: () => 1 };
  }

  @stub.function()
  returnsInstance() {
    return new Point(3);
  }

  @stub.function()
  exits() {
    console.log("about to exit");
    process.exit(3);
  }

  @stub.function()
  sigkill() {
    process.kill(process.pid, "SIGKILL");
    return new Promise<never>(() => {});
  }

  @stub.function()
  timerThrow() {
    setTimeout(() => {
      throw new Error("thrown from a timer");
    }, 10);
    return new Promise<never>(() => {});
  }

  @stub.function()
  throwsString(): number {
    throw "just a string";
  }

  @stub.function()
  echo(value: unknown): unknown {
    return value;
  }

  /** An argument that cannot be carried is refused before anything is sent. */
  @stub.localEntrypoint()
  async badArgument() {
    await fn(this.echo).remote({ where: new Point(1) });
  }

  @stub.function()
  maybeCrash(crash: boolean): string {
    if (crash) process.kill(process.pid, "SIGKILL");
    return \`fine in \${process.pid}\`;
  }

  /** A remote error re-thrown in a local entrypoint, uncaught. */
  @stub.localEntrypoint()
  async viaLocal() {
    console.log("calling");
    await fn(this.custom).remote();
    console.log("not reached");
  }

  /** A crashed worker is an error the caller can catch; the next call gets a fresh worker. */
  @stub.localEntrypoint()
  async recover() {
    try {
      await fn(this.maybeCrash).remote(true);
      console.log("crash did not fail the call");
    } catch (error) {
      console.log(\`caught \${(error as Error).name} instanceof=\${error instanceof WorkerCrashedError}\`);
    }
    const again = await fn(this.maybeCrash).remote(false);
    console.log(again.startsWith("fine in ") ? "second call fine" : again);
  }
}
`;

const OUTPUT_SOURCE = `import { Stub, fn } from "stubrun";

const stub = new Stub("failures-output");

class Out {
  @stub.function()
  talk(lines: number): string {
    for (let i = 1; i <= lines; i++) console.log(\`remote line \${i}\`);
    console.error("remote to stderr");
    process.stdout.write("no newline, then ");
    process.stdout.write("the end\\n");
    return "returned";
  }

  @stub.function()
  async tagged(tag: string): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, tag === "a" ? 200 : 0));
    console.log(\`output \${tag}\`);
    return tag;
  }

  @stub.localEntrypoint()
  async main() {
    console.log("before");
    const value = await fn(this.talk).remote(3);
    console.log(\`after: \${value}\`);
    for await (const tag of fn(this.tagged).map(["a", "b", "c"])) console.log(\`result \${tag}\`);
  }
}
`;

const VALUES_SOURCE = `import { Stub, fn } from "stubrun";

const stub = new Stub("failures-values");

class QuotaExceeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuotaExceeded";
  }
}

/** Says what a value is, by instanceof and typeof, so both sides can be compared as text. */
function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v !== "object") return \`\${typeof v}:\${String(v)}\`;
  if (v instanceof Date) return \`Date:\${v.toISOString()}\`;
  if (v instanceof Map) return \`Map{\${[...v].map(([k, x]) => \`\${describe(k)}=>\${describe(x)}\`).join(",")}}\`;
  if (v instanceof Set) return \`Set{\${[...v].map(describe).join(",")}}\`;
  if (v instanceof Uint8Array) return \`Uint8Array:\${[...v].join(",")}\`;
  if (v instanceof Error) return \`\${v.constructor.name}(\${v.name}: \${v.message})\`;
  if (Array.isArray(v)) return \`[\${v.map(describe).join(",")}]\`;
  const proto = Object.getPrototypeOf(v) === Object.prototype ? "" : "(odd prototype)";
  return \`{\${Object.keys(v).map((k) => \`\${k}=\${describe((v as Record<string, unknown>)[k])}\`).join(",")}}\${proto}\`;
}

class Values {
  @stub.function()
  echo(value: Record<string, unknown>, extra: bigint): Record<string, unknown> {
    console.log(\`remote got: \${describe(value)}\`);
    console.log(\`remote extra: \${describe(extra)}\`);
    const nested = value.nested as Record<string, unknown>;
    console.log(\`remote keeps undefined key: \${"u" in nested}; error stack: \${String((value.error as Error).stack).includes("sent along")}\`);
    return {
      ...value,
      made: new Date(0),
      bigger: 2n ** 70n,
      err: new RangeError("made remotely"),
      custom: new QuotaExceeded("over quota"),
      nothing: undefined,
      sparse: [undefined, 1],
    };
  }

  @stub.localEntrypoint()
  async main() {
    const sent = {
      date: new Date("2024-01-31T12:34:56.789Z"),
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([["a", 1], [2, new Set(["x"])]]),
      set: new Set<unknown>([1, "two", 3n]),
      bytes: new Uint8Array([0, 1, 255]),
      list: [1, undefined, null, "s"],
      nested: { deep: { deeper: [{ x: 1.5 }] }, u: undefined },
      error: new TypeError("sent along"),
    };
    const back = await fn(this.echo).remote(sent, -7n);
    console.log(\`local got: \${describe(back)}\`);
  }
}
`;

const CALLS_SOURCE = `import { Stub, fn, CallCancelledError } from "stubrun";

const stub = new Stub("failures-calls");

class Calls {
  @stub.function()
  square(x: number): number {
    if (x === 3) throw new Error(\`no threes (\${x})\`);
    return x * x;
  }

  @stub.function()
  async sleepy(ms: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }

  @stub.function()
  where(): number {
    return process.pid;
  }

  @stub.localEntrypoint()
  async main() {
    const call = await fn(this.square).spawn(7);
    console.log(\`spawn id: \${typeof call.id === "string" && call.id.length > 0}\`);
    console.log(\`spawn get: \${await call.get()}, again: \${await call.get()}\`);

    const unordered: number[] = [];
    for await (const ms of fn(this.sleepy).map([1500, 10, 700], { order: false })) unordered.push(ms);
    console.log(\`unordered: \${unordered.join(" ")}\`);

    const ordered: number[] = [];
    for await (const ms of fn(this.sleepy).map([700, 10])) ordered.push(ms);
    console.log(\`ordered: \${ordered.join(" ")}\`);

    const withErrors: string[] = [];
    for await (const r of fn(this.square).map([1, 2, 3, 4], { returnErrors: true })) {
      withErrors.push(r instanceof Error ? \`Error(\${r.message})\` : String(r));
    }
    console.log(\`returnErrors: \${withErrors.join(" ")}\`);

    const seen: number[] = [];
    try {
      for await (const r of fn(this.square).map([1, 2, 3, 4])) seen.push(r);
      console.log("map without returnErrors did not throw");
    } catch (error) {
      console.log(\`map rejected: \${(error as Error).message}; saw \${seen.join(" ")}\`);
    }

    const long = await fn(this.sleepy).spawn(60_000);
    const started = Date.now();
    setTimeout(() => void long.cancel(), 300);
    try {
      await long.get();
      console.log("cancelled call resolved");
    } catch (error) {
      const seconds = (Date.now() - started) / 1000;
      console.log(\`cancel: \${(error as Error).name} instanceof=\${error instanceof CallCancelledError} quick=\${seconds < 10}\`);
    }

    const localPid = await fn(this.where).local();
    const remotePid = await fn(this.where).remote();
    console.log(\`local runs here: \${localPid === process.pid}; remote runs elsewhere: \${remotePid !== process.pid}\`);
    console.log(\`local square: \${await fn(this.square).local(5)}\`);
    try {
      await fn(this.square).local(3);
    } catch (error) {
      console.log(\`local throws: \${(error as Error).message}\`);
    }
  }
}
`;

const SIZE_SOURCE = `import { Stub, fn } from "stubrun";

const stub = new Stub("failures-size");

class Sizes {
  @stub.function()
  size(text: string): number {
    return text.length;
  }

  /** Many inputs of 1 MiB: more than one message may carry together, each well within the limit. */
  @stub.localEntrypoint()
  async many(count = 40) {
    let total = 0;
    for await (const n of fn(this.size).map(Array.from({ length: count }, () => "x".repeat(1024 * 1024)))) total += n;
    return total;
  }

  /** One argument larger than a message may be. */
  @stub.localEntrypoint()
  async huge(mib = 40) {
    return fn(this.size).remote("x".repeat(mib * 1024 * 1024));
  }
}
`;

const SYNTAX_SOURCE = `import { Stub } from "stubrun";
const stub = new Stub("failures-syntax");
class Broken {
  @stub.function()
  f( { return 1; }
}
`;

const TOPLEVEL_SOURCE = `import { Stub } from "stubrun";
const stub = new Stub("failures-toplevel");
class Fine {
  @stub.function()
  f() { return 1; }
}
throw new Error("top-level boom");
`;

const HEALTHY_SOURCE = `import { Stub } from "stubrun";
const stub = new Stub("failures-healthy");
class Healthy {
  @stub.function()
  ping(): string { return "pong"; }
}
`;

/** 1-based line of the first line of `source` that contains `text`. */
function lineOf(source: string, text: string): number {
  const index = source.split("\n").findIndex((line) => line.includes(text));
  if (index < 0) throw new Error(`fixture has no line with ${text}`);
  return index + 1;
}

/** A TCP server that accepts connections and never writes: prints its port, listens on argv[1]. */
const SILENT_SERVER = `const net = require("node:net");
const sockets = [];
const server = net.createServer((s) => sockets.push(s));
server.listen(0, process.argv[1], () => console.log(server.address().port));`;

/** Checks the exit code, showing the run's output when it is wrong. */
function expectExit(r: RunResult, code: number): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code} (signal ${r.signal})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

describe("failures", () => {
  let server: TestServer;
  const throwFile = writeFixture("failures-throw.ts", THROW_SOURCE);
  const outputFile = writeFixture("failures-output.ts", OUTPUT_SOURCE);
  const valuesFile = writeFixture("failures-values.ts", VALUES_SOURCE);
  const callsFile = writeFixture("failures-calls.ts", CALLS_SOURCE);
  const sizeFile = writeFixture("failures-size.ts", SIZE_SOURCE);
  const syntaxFile = writeFixture("failures-syntax.ts", SYNTAX_SOURCE);
  const toplevelFile = writeFixture("failures-toplevel.ts", TOPLEVEL_SOURCE);
  const healthyFile = writeFixture("failures-healthy.ts", HEALTHY_SOURCE);

  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  /** The server survived, and a normal run after the fault works. */
  async function expectServerHealthy(): Promise<void> {
    expect(server.alive).toBe(true);
    const r = await server.run(["--quiet", healthyFile]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "pong\n" });
  }

  /** Runs `Thrower.<method>` as the entrypoint (remotely). */
  function runThrower(method: string, timeoutMs = 30_000): Promise<RunResult> {
    return server.run(["--quiet", `${throwFile}::Thrower.${method}`], { timeoutMs });
  }

  describe("errors thrown remotely", () => {
    test("a synchronous throw: exit 1, the remote name, message and a frame in the user's .ts file", async () => {
      const r = await runThrower("syncThrow");
      expectExit(r, 1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^Error: sync boom$/m);
      const line = lineOf(THROW_SOURCE, 'throw new Error("sync boom")');
      expect(r.stderr).toMatch(new RegExp(`^\\s+at .*failures-throw\\.ts:${line}:\\d+\\)?$`, "m"));
    });

    test("an asynchronous throw: exit 1, with TypeError's name and the .ts frame", async () => {
      const r = await runThrower("asyncThrow");
      expectExit(r, 1);
      expect(r.stderr).toMatch(/^TypeError: async boom$/m);
      const line = lineOf(THROW_SOURCE, 'throw new TypeError("async boom")');
      expect(r.stderr).toMatch(new RegExp(`failures-throw\\.ts:${line}:\\d+`));
    });

    test("a custom Error subclass keeps its name", async () => {
      const r = await runThrower("custom");
      expectExit(r, 1);
      expect(r.stderr).toMatch(/^QuotaExceeded: custom boom$/m);
      expect(r.stderr).toMatch(new RegExp(`failures-throw\\.ts:${lineOf(THROW_SOURCE, 'new QuotaExceeded("custom boom")')}:\\d+`));
    });

    test("a thrown non-Error value is reported as such", async () => {
      const r = await runThrower("throwsString");
      expectExit(r, 1);
      expect(r.stderr).toContain('a non-Error value was thrown: "just a string"');
    });

    test("a remote error re-thrown through a local entrypoint: exit 1, output kept, remote frames shown", async () => {
      const r = await server.run(["--quiet", `${throwFile}::Thrower.viaLocal`]);
      expectExit(r, 1);
      expect(r.stdout).toBe("calling\n");
      expect(r.stderr).toMatch(/^QuotaExceeded: custom boom$/m);
      expect(r.stderr).toMatch(new RegExp(`failures-throw\\.ts:${lineOf(THROW_SOURCE, 'new QuotaExceeded("custom boom")')}:\\d+`));
      await expectServerHealthy();
    });
  });

  describe("return values that cannot cross the wire", () => {
    test("a function inside the return value: exit 1, naming the return value and the path", async () => {
      const r = await runThrower("returnsFunction");
      expectExit(r, 1);
      expect(r.stderr).toContain("UncarriableValueError");
      expect(r.stderr).toContain("the return value of Thrower.returnsFunction (at .callback) is a function");
    });

    test("a class instance: exit 1, naming the return value and the class", async () => {
      const r = await runThrower("returnsInstance");
      expectExit(r, 1);
      expect(r.stderr).toContain("the return value of Thrower.returnsInstance is an instance of Point; send a plain object instead");
    });
  });

  describe("arguments that cannot cross the wire", () => {
    test("a class instance as an argument: exit 1, naming the argument and its path", async () => {
      const r = await server.run(["--quiet", `${throwFile}::Thrower.badArgument`]);
      expectExit(r, 1);
      expect(r.stderr).toContain("argument 1 of Thrower.echo (at .where) is an instance of Point; send a plain object instead");
    });

    test("many arguments that together exceed a message's size limit still all arrive", async () => {
      const r = await server.run(["--quiet", `${sizeFile}::Sizes.many`], { timeoutMs: 60_000 });
      expectExit(r, 0);
      expect(r.stdout).toBe(`${40 * 1024 * 1024}\n`);
    });

    test("one argument over the message size limit: exit 1 with a clear error, without hanging", async () => {
      const r = await server.run(["--quiet", `${sizeFile}::Sizes.huge`], { timeoutMs: 30_000 });
      expectExit(r, 1);
      expect(r.stderr).toContain("the arguments of Sizes.size are");
      expect(r.stderr).toContain("over the limit of 33554432 bytes per message");
      await expectServerHealthy();
    });
  });

  describe("workers that exit or crash mid-call", () => {
    test("process.exit(3): exit 1, the worker exited with code 3, its output kept", async () => {
      const r = await runThrower("exits");
      expectExit(r, 1);
      expect(r.stdout).toBe("about to exit\n");
      expect(r.stderr).toMatch(/Thrower\.exits: the worker exited with code 3/);
      await expectServerHealthy();
    });

    test("SIGKILL mid-call: the caller gets a worker-exited error naming the signal, promptly", async () => {
      const started = Date.now();
      const r = await runThrower("sigkill", 20_000);
      expectExit(r, 1);
      expect(r.stderr).toMatch(/Thrower\.sigkill: the worker exited with signal SIGKILL/);
      expect(Date.now() - started).toBeLessThan(15_000);
      await expectServerHealthy();
    });

    test("an uncaught exception thrown from a timer: the caller sees it and a worker-exited error", async () => {
      const started = Date.now();
      const r = await runThrower("timerThrow", 20_000);
      expectExit(r, 1);
      expect(r.stderr).toContain("thrown from a timer");
      expect(r.stderr).toMatch(/Thrower\.timerThrow: the worker exited with code 1/);
      expect(Date.now() - started).toBeLessThan(15_000);
      await expectServerHealthy();
    });

    test("a crash is catchable in the entrypoint, and the next call gets a new worker", async () => {
      const r = await server.run(["--quiet", `${throwFile}::Thrower.recover`]);
      expect(r.stdout).toBe("caught WorkerCrashedError instanceof=true\nsecond call fine\n");
      expectExit(r, 0);
      await expectServerHealthy();
    });
  });

  describe("output of remote calls", () => {
    test("stdout arrives before the result, in order; stderr goes to stderr", async () => {
      const r = await server.run(["--quiet", outputFile]);
      expectExit(r, 0);
      const lines = r.stdout.split("\n");
      expect(lines.slice(0, 7)).toEqual([
        "before",
        "remote line 1",
        "remote line 2",
        "remote line 3",
        "no newline, then the end",
        "after: returned",
        // then the map's output and results, whose interleaving across calls is free
        lines[6],
      ]);
      for (const tag of ["a", "b", "c"]) {
        expect(lines).toContain(`output ${tag}`);
        expect(lines.indexOf(`output ${tag}`)).toBeLessThan(lines.indexOf(`result ${tag}`));
      }
      expect(lines.filter((l) => l.startsWith("result "))).toEqual(["result a", "result b", "result c"]);
      expect(r.stdout.endsWith("\n")).toBe(true);
      expect(r.stdout).not.toContain("remote to stderr");
      expect(r.stderr).toContain("remote to stderr\n");
    });

    test("a function as the entrypoint: all of its output, then its return value", async () => {
      const r = await server.run(["--quiet", `${outputFile}::Out.talk`, "--lines", "2000"]);
      expectExit(r, 0);
      const expected = Array.from({ length: 2000 }, (_, i) => `remote line ${i + 1}\n`).join("") + "no newline, then the end\nreturned\n";
      expect(r.stdout).toBe(expected);
      expect(r.stderr).toBe("remote to stderr\n");
    });
  });

  describe("values crossing the wire", () => {
    test("Date, BigInt, Map, Set, Uint8Array, undefined, nested objects and Errors keep their types both ways", async () => {
      const r = await server.run(["--quiet", valuesFile]);
      expect(r.stderr).toBe("");
      expectExit(r, 0);
      const sent =
        "date=Date:2024-01-31T12:34:56.789Z,big=bigint:12345678901234567890," +
        'map=Map{string:a=>number:1,number:2=>Set{string:x}},set=Set{number:1,string:two,bigint:3},' +
        "bytes=Uint8Array:0,1,255,list=[number:1,undefined,null,string:s]," +
        "nested={deep={deeper=[{x=number:1.5}]},u=undefined},error=TypeError(TypeError: sent along)";
      expect(r.stdout).toBe(
        [
          `remote got: {${sent}}`,
          "remote extra: bigint:-7",
          "remote keeps undefined key: true; error stack: true",
          `local got: {${sent},made=Date:1970-01-01T00:00:00.000Z,bigger=bigint:1180591620717411303424,` +
            "err=RangeError(RangeError: made remotely),custom=QuotaExceeded(QuotaExceeded: over quota)," +
            "nothing=undefined,sparse=[undefined,number:1]}",
          "",
        ].join("\n"),
      );
    });
  });

  describe("spawn, map, cancel and local", () => {
    test("spawn/get/id, map order and errors, cancel, and .local() in this process", async () => {
      const r = await server.run(["--quiet", callsFile]);
      expect(r.stdout).toBe(
        [
          "spawn id: true",
          "spawn get: 49, again: 49",
          "unordered: 10 700 1500",
          "ordered: 700 10",
          "returnErrors: 1 4 Error(no threes (3)) 16",
          "map rejected: no threes (3); saw 1 4",
          "cancel: CallCancelledError instanceof=true quick=true",
          "local runs here: true; remote runs elsewhere: true",
          "local square: 25",
          "local throws: no threes (3)",
          "",
        ].join("\n"),
      );
      expectExit(r, 0);
    });
  });

  describe("broken files", () => {
    test("a syntax error: exit 2 with file:line", async () => {
      const r = await server.run([syntaxFile]);
      expectExit(r, 2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`${syntaxFile}:${lineOf(SYNTAX_SOURCE, "f( {")}:`);
    });

    test("top-level code that throws: exit 1 with the error and where it was thrown", async () => {
      const r = await server.run([toplevelFile]);
      expectExit(r, 1);
      expect(r.stderr).toMatch(/^Error: top-level boom$/m);
      expect(r.stderr).toContain(`failures-toplevel.ts:${lineOf(TOPLEVEL_SOURCE, "top-level boom")}:`);
    });
  });

  describe("where the server is", () => {
    // Every non-loopback peer here is a test host (a network namespace on its own veth); the CLI runs inside it.
    let elsewhere: TestHost | undefined;
    afterAll(() => elsewhere?.destroy());
    async function testHost(): Promise<TestHost> {
      return (elsewhere ??= await TestHost.create());
    }

    /** Runs the healthy fixture against `url` inside the test host, with a throwaway STUBRUN_HOME. */
    async function runAgainst(url: string): Promise<RunResult & { ms: number }> {
      const host = await testHost();
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-test-"));
      try {
        const started = Date.now();
        const r = await host.runBin([healthyFile], { env: { ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: url }, timeoutMs: 30_000 });
        return { ...r, ms: Date.now() - started };
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    }

    // In the test host, names are looked up at its own loopback (nothing answers there), never at this machine's resolver.
    testWithTestHost("a host name that does not resolve: exit 1 with a clear error, quickly, and no daemon", async () => {
      const url = "http://stubrun-nowhere.invalid:7420";
      const r = await runAgainst(url);
      expectExit(r, 1);
      expect(r.stderr).toContain(`cannot reach the stubrun server at ${url}`);
      expect(r.stderr).toContain("STUBRUN_SERVER_URL");
      expect(r.stderr).not.toContain("Starting a local stubrun server");
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.ms).toBeLessThan(10_000);
    });

    // The silent address is on the test host's veth subnet, at a MAC nobody has: the connection attempt hears nothing back.
    testWithTestHost("a non-loopback address that does not answer: exit 1 with a clear error, quickly, and no daemon", async () => {
      const url = `http://${(await testHost()).silentAddress}:9`;
      const r = await runAgainst(url);
      expectExit(r, 1);
      expect(r.stderr).toContain(url);
      expect(r.stderr).toContain("STUBRUN_SERVER_URL");
      expect(r.stderr).not.toContain("Starting a local stubrun server");
      expect(r.ms).toBeLessThan(15_000);
    });

    testWithTestHost("a non-loopback server that accepts the connection but never answers: exit 1 after a bounded wait", async () => {
      const host = await testHost();
      // Accepts, never says a word; listens on the test host's address, from inside it.
      const silent = host.run(process.execPath, ["-e", SILENT_SERVER, host.nsAddress], { stdio: ["ignore", "pipe", "inherit"] });
      try {
        const port = await new Promise<string>((resolve, reject) => {
          let out = "";
          silent.stdout!.setEncoding("utf8").on("data", (d: string) => {
            out += d;
            const m = /^(\d+)\n/.exec(out);
            if (m) resolve(m[1]);
          });
          silent.once("exit", (code) => reject(new Error(`the silent server exited (${code}) before it listened`)));
        });
        const url = `http://${host.nsAddress}:${port}`;
        const r = await runAgainst(url);
        expectExit(r, 1);
        expect(r.stderr).toContain(`cannot reach the stubrun server at ${url}`);
        expect(r.stderr).toContain("timed out");
        expect(r.ms).toBeLessThan(15_000);
      } finally {
        silent.kill("SIGKILL");
      }
    });

    test("a loopback URL with nothing listening: the CLI starts a daemon, says so, and runs", async () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-test-"));
      const url = `http://127.0.0.1:${await freePort()}`;
      const env = { ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: url };
      try {
        const r = await runBin([healthyFile], { env, timeoutMs: 30_000 });
        expect(r.stdout).toBe("pong\n");
        expectExit(r, 0);
        expect(r.stderr).toContain(`Starting a local stubrun server on ${url}`);

        const status = await runBin(["server", "status"], { env });
        expect(status.stdout).toContain(`running on ${url}`);

        const again = await runBin(["--quiet", healthyFile], { env, timeoutMs: 30_000 });
        expect({ code: again.code, stdout: again.stdout, stderr: again.stderr }).toEqual({ code: 0, stdout: "pong\n", stderr: "" });
      } finally {
        const stop = await runBin(["server", "stop"], { env });
        fs.rmSync(home, { recursive: true, force: true });
        expectExit(stop, 0);
        expect(stop.stderr).toContain("Stopped the stubrun server");
      }
    });
  });

  test("the server is still up after all of the above", async () => {
    await expectServerHealthy();
  });
});
