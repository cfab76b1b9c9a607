import { withTestServer, writeFixture, type TestServer } from "./harness";

/** Issue 12: mistakes a TypeScript user makes, each answered with what happened and how to fix it. */

const NO_AWAIT = writeFixture(
  "mistakes-no-await.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("mistakes-no-await");
class Forgot {
  @stub.function()
  async slow(x: number) {
    await new Promise((r) => setTimeout(r, 3000));
    return x * 2;
  }

  @stub.localEntrypoint()
  main() {
    fn(this.slow).remote(1);
    fn(this.slow).remote(2);
  }
}
`,
);

const CONSTRUCTOR = writeFixture(
  "mistakes-constructor.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("mistakes-constructor");
class Greeter {
  constructor(private readonly prefix: string) {}

  @stub.function()
  hello(name: string) {
    return this.prefix.toUpperCase() + " " + name;
  }

  @stub.localEntrypoint()
  async main() {
    console.log(await fn(this.hello).remote("ann"));
  }
}
`,
);

describe("mistakes that teach", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("an entrypoint that returns while its calls still run says so and how to fix it, stops the app, exit 1", async () => {
    const r = await server.run([NO_AWAIT]);
    expect(r.stderr).toContain("Error: Forgot.main returned while 2 calls were still running (Forgot.slow): await them (await fn(this.f).remote(...)), or run with --detach to let them finish");
    expect(r.stderr).toMatch(/Stopped app ap-\w+/);
    expect(r.stderr).not.toContain("triggerUncaughtException");
    expect(r.code).toBe(1);
  });

  test("with --detach the calls finish in the detached app, exit 0", async () => {
    const r = await server.run(["--detach", NO_AWAIT]);
    expect(r.stderr).toContain("keeps running detached");
    expect(r.stderr).not.toContain("returned while");
    expect(r.code).toBe(0);
  });

  test("a class whose constructor takes parameters is refused before anything runs, saying what to do (exit 2)", async () => {
    for (const args of [[CONSTRUCTOR], ["deploy", CONSTRUCTOR]]) {
      const r = await server.run(args);
      expect(r.stderr).toContain(
        "Error: class Greeter's constructor takes parameters (prefix), but stubrun creates its instances with no arguments: give them defaults, or set them up in a method marked @stub.enter()",
      );
      expect(r.stderr).not.toContain("Cannot read properties of undefined");
      expect(r.code).toBe(2);
    }
  });
});
