import { BinProcess, spawnBin, TestServer, waitUntil, writeFixture } from "./harness";

/**
 * Issue 14 item 3: `stubrun call APP Class.method --x 4` calls a function of a deployed app from
 * the shell. Its options come from the parameters stored in the app's manifest, by the same
 * rules and with the same `--help` as `stubrun FILE`; output streams, the value prints, errors
 * exit 1 with the remote stack, option mistakes exit 2, Ctrl-C cancels the call.
 */

const APP = "call-cmd";

const FILE = writeFixture(
  "call-command.ts",
  `import { Stub } from "stubrun";

const stub = new Stub(${JSON.stringify(APP)});

type Mode = "fast" | "slow";

class Tools {
  /**
   * Squares a number.
   * @param x the number to square
   */
  @stub.function()
  square(x: number, mode: Mode = "fast", loud = false): { y: number; mode: Mode } {
    console.log(\`squaring \${x}\`);
    return { y: loud ? -x * x : x * x, mode };
  }

  @stub.function()
  greet(name: string): string {
    return \`hello \${name}\`;
  }

  @stub.function()
  async *count(n: number) {
    for (let i = 1; i <= n; i++) yield i;
  }

  @stub.function()
  fail(message: string): never {
    throw new RangeError(message);
  }

  @stub.function()
  async sleep(ms: number): Promise<string> {
    console.log("sleeping");
    await new Promise((resolve) => setTimeout(resolve, ms));
    return "woke";
  }
}
`,
);

describe("stubrun call APP Class.method", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
    const deploy = await server.run(["deploy", FILE]);
    if (deploy.code !== 0) throw new Error(`deploy failed:\n${deploy.stdout}${deploy.stderr}`);
  });
  afterEach(() => BinProcess.killAll());
  afterAll(() => server?.stop());

  test("options become arguments; the output streams, then the value prints", async () => {
    const r = await server.run(["call", APP, "Tools.square", "--x", "4", "--mode", "slow"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`squaring 4\n{"y":16,"mode":"slow"}\n`);
    expect(r.code).toBe(0);
    const flag = await server.run(["call", APP, "Tools.square", "--x=3", "--loud"]);
    expect(flag.stdout).toContain(`{"y":-9,"mode":"fast"}`);
    const text = await server.run(["call", APP, "Tools.greet", "--name", "Ada"]);
    expect(text.stdout).toBe("hello Ada\n");
  });

  test("--help lists the function's options from its manifest", async () => {
    const r = await server.run(["call", APP, "Tools.square", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: stubrun call ${APP} Tools.square [options]`);
    expect(r.stdout).toMatch(/--x <number>\s+the number to square {2}required/);
    expect(r.stdout).toMatch(/--mode <fast\|slow>\s+default: "fast"/);
    expect(r.stdout).toContain("--loud, --no-loud");
  });

  test("a generator's values print as they come", async () => {
    const r = await server.run(["call", APP, "Tools.count", "--n", "3"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1\n2\n3\n");
  });

  test("option mistakes exit 2 and say how to see the options", async () => {
    const bad = await server.run(["call", APP, "Tools.square", "--x", "four"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--x");
    expect(bad.stderr).toContain(`See the options with: npx stubrun call ${APP} Tools.square --help`);
    const choice = await server.run(["call", APP, "Tools.square", "--x", "1", "--mode", "medium"]);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toMatch(/fast.*slow/);
    const unknown = await server.run(["call", APP, "Tools.square", "--x", "1", "--y", "2"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option --y for Tools.square");
    const missing = await server.run(["call", APP, "Tools.square"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required option --x");
  });

  test("a missing app, function or function name is an error that says what exists", async () => {
    const noApp = await server.run(["call", "no-such-app", "Tools.square", "--x", "1"]);
    expect(noApp.code).not.toBe(0);
    expect(noApp.stderr).toContain("no deployed app named no-such-app");
    const noFn = await server.run(["call", APP, "Tools.cube", "--x", "1"]);
    expect(noFn.code).not.toBe(0);
    expect(noFn.stderr).toContain("its functions are: ");
    expect(noFn.stderr).toContain("Tools.square");
    const bare = await server.run(["call", APP]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain(`say which function of ${APP} to call, like: npx stubrun call ${APP} Tools.`);
  });

  test("the function's error exits 1 with its remote stack", async () => {
    const r = await server.run(["call", APP, "Tools.fail", "--message", "too big"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("RangeError: too big");
    expect(r.stderr).toContain("call-command.ts");
  });

  test("Ctrl-C cancels the call on the server and exits 130", async () => {
    const call = spawnBin(server, ["call", APP, "Tools.sleep", "--ms", "60000"]);
    await waitUntil(() => call.stdout.includes("sleeping"), { what: "the call to start" });
    call.child.kill("SIGINT");
    const r = await call.exited;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("Interrupted: cancelling the call");
    const calls = (await (await server.api(`/api/apps/${APP}/calls`)).json()) as { functionName: string; state: string }[];
    expect(calls.find((c) => c.functionName === "Tools.sleep")?.state).toBe("cancelled");
  });
});
