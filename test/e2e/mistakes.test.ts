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

const HELLO = writeFixture(
  "mistakes-hello.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("mistakes-hello");
class Hello {
  @stub.function()
  square(x: number) {
    return x * x;
  }

  @stub.localEntrypoint()
  async main(n = 2) {
    console.log(await fn(this.square).remote(n));
  }

  @stub.localEntrypoint()
  async dotRemote() {
    return (this.square as unknown as { remote(x: number): Promise<number> }).remote(3);
  }

  @stub.localEntrypoint()
  async direct() {
    const first = this.square(3);
    const second = this.square(4);
    return [first, second, await fn(this.square).remote(5)];
  }

  @stub.localEntrypoint()
  async wrongType() {
    return fn(this.square).remote("abc" as unknown as number);
  }

  @stub.localEntrypoint()
  async called() {
    return (fn(this.square) as unknown as (x: number) => unknown)(3);
  }

  @stub.localEntrypoint()
  async *squares(n = 3) {
    for (let i = 1; i <= n; i++) yield await fn(this.square).remote(i);
  }
}
`,
);

const QUOTED = writeFixture(
  "mistakes-quoted.ts",
  `import { Stub } from "stubrun";
const stub = new Stub("mistakes-quoted");
class Quoted {
  @stub.function({ timeout: "30" as unknown as number })
  f() {}
}
`,
);

const DECORATED_JS = writeFixture(
  "mistakes-decorated.js",
  `const { Stub } = require("stubrun");
const stub = new Stub("mistakes-js");
class D {
  @stub.function()
  f() { return 1; }
}
`,
);

// What a build with standard (TC39) decorators leaves: the decorator called with (value, context).
writeFixture(
  "mistakes-tc39-built.js",
  `const { Stub } = require("stubrun");
const stub = new Stub("mistakes-tc39");
class Built { f() { return 1; } }
stub.function()(Built.prototype.f, { kind: "method", name: "f", static: false, private: false });
module.exports = { Built };
`,
);
const TC39 = writeFixture("mistakes-tc39.ts", `import { Built } from "./mistakes-tc39-built";\nconsole.log(Built);\n`);

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

  test("a misspelled ::reference suggests the closest candidate", async () => {
    const byName = await server.run([`${HELLO}::Hello.mian`]);
    expect(byName.stderr).toContain(`has no runnable Hello.mian (did you mean ${HELLO}::Hello.main?)`);
    const byMethod = await server.run([`${HELLO}::sqare`]);
    expect(byMethod.stderr).toContain(`has no class or method named sqare (did you mean ${HELLO}::square?)`);
    expect([byName.code, byMethod.code]).toEqual([2, 2]);
  });

  test("runner flags after FILE, an option typed with two dashes, and values after -- each get a sentence that says what to do", async () => {
    const quiet = await server.run([`${HELLO}::Hello.main`, "-q"]);
    expect(quiet.stderr).toContain("unknown option -q for Hello.main");
    expect(quiet.stderr).toContain("--quiet is stubrun's own flag: it goes before FILE");
    const typed = await server.run([`${HELLO}::Hello.main`, "--x", "1"]);
    expect(typed.stderr).toContain("unknown option --x for Hello.main; its options are: --n");
    const dashes = await server.run([`${HELLO}::Hello.main`, "--", "--n", "3"]);
    expect(dashes.stderr).toContain('what follows "--" is not read as options, and Hello.main takes its values as options: drop the "--" (--n 3)');
    expect([quiet.code, typed.code, dashes.code]).toEqual([2, 2, 2]);
  });

  test("an option of the wrong type shows the value as written: a string quoted", async () => {
    const r = await server.run([QUOTED]);
    expect(r.stderr).toContain('"timeout" must be a number of seconds above 0, got "30"');
    expect(r.code).toBe(2);
  });

  test("this.f.remote() points to fn(this.f).remote()", async () => {
    const r = await server.run([`${HELLO}::Hello.dotRemote`]);
    expect(r.stderr).toContain('this.square.remote(...) is not how a function is called: wrap it first, fn(this.square).remote(...) (fn comes from the \"stubrun\" package)');
    expect(r.code).toBe(2);
  });

  test("a generator entrypoint prints each value it yields", async () => {
    const r = await server.run(["-q", `${HELLO}::Hello.squares`, "--n", "4"]);
    expect(r.stdout).toBe("1\n4\n9\n16\n");
    expect(r.code).toBe(0);
  });

  test("fn(this.f)(3) says to pick .remote() and the others", async () => {
    const r = await server.run([`${HELLO}::Hello.called`]);
    expect(r.stderr).toContain("fn(this.square)(...) does not call it: say where it runs, fn(this.square).remote(...) (or .local(...), .spawn(...), .map(...))");
    expect(r.code).toBe(2);
  });

  test("a .js file with decorators says they need TypeScript (exit 2)", async () => {
    const r = await server.run([DECORATED_JS]);
    expect(r.stderr).toContain("mistakes-decorated.js:4: decorators need TypeScript: rename mistakes-decorated.js to mistakes-decorated.ts");
    expect(r.code).toBe(2);
  });

  test("an argument that does not match the function's parameter type is refused, naming the parameter", async () => {
    const r = await server.run([`${HELLO}::Hello.wrongType`]);
    expect(r.stderr).toContain('Error: Hello.square: argument 1 (x) must be a number, got a string "abc"');
    expect(r.code).toBe(2);
  });

  test("this.f(3) in an entrypoint runs here, and says so once, pointing to fn(this.f).remote()", async () => {
    const r = await server.run(["-q", `${HELLO}::Hello.direct`]);
    expect(r.stdout).toBe("[9,16,25]\n");
    expect(r.stderr.match(/runs Hello\.square here/g)).toHaveLength(1);
    expect(r.stderr).toContain("stubrun: this.square(...) runs Hello.square here, in this process; to run it remotely: await fn(this.square).remote(...)");
    expect(r.code).toBe(0);
  });

  test("code built with standard decorators is named as such, without telling to run stubrun (which was done)", async () => {
    const r = await server.run([TC39]);
    expect(r.stderr).toContain("@stub.function() was compiled with standard (TC39) decorators before stubrun loaded it");
    expect(r.stderr).not.toContain('run the file with "npx stubrun FILE"');
    expect(r.code).toBe(2);
  });
});
