import { TestServer, writeFixture, type RunResult } from "./harness";

/**
 * SPEC §3 "Choosing the entrypoint", and the parts of "Output" and "Exit codes" that go with it,
 * through the real bin against a real server. Where a method runs is proved by the process it
 * runs in: workers have STUBRUN_APP_ID (the app this run created) and a pid of their own.
 */

// Where the code that calls it runs: a worker of this run's app, or the CLI's own process.
const WHERE = `const where = () => (process.env.STUBRUN_APP_ID ? "worker pid=" + process.pid + " app=" + process.env.STUBRUN_APP_ID : "local pid=" + process.pid);`;

/** Two local entrypoints (so nothing is inferred), functions, a one-method class and a web endpoint. */
const MIXED = writeFixture(
  "entrypoints-mixed.ts",
  `import { Stub, fn } from "stubrun";

const stub = new Stub("entrypoints-mixed");
${WHERE}

class Alpha {
  @stub.function()
  square(x: number): number {
    return x * x;
  }

  @stub.function()
  whereAmI(): string {
    console.log("whereAmI printed from " + where());
    return where();
  }

  @stub.localEntrypoint()
  async main() {
    console.log("Alpha.main ran in " + where());
    console.log("remote says " + (await fn(this.whereAmI).remote()));
  }
}

class Beta {
  @stub.localEntrypoint()
  main() {
    console.log("Beta.main ran in " + where());
    return { beta: true, list: [1, "two"] };
  }
}

class Solo {
  @stub.function()
  only(): string {
    return "Solo.only ran in " + where();
  }
}

class Web {
  @stub.webEndpoint()
  hook(n = 1): number {
    return n + 1;
  }
}
`,
);
const MIXED_CANDIDATES = ["Alpha.main", "Alpha.square", "Alpha.whereAmI", "Beta.main", "Solo.only", "Web.hook"];

/** Exactly one local entrypoint, beside two functions: it is the one run without `::`. */
const ONE_LOCAL = writeFixture(
  "entrypoints-one-local.ts",
  `import { Stub, fn } from "stubrun";

const stub = new Stub();
${WHERE}

class Tools {
  @stub.function()
  double(x: number) {
    return x * 2;
  }

  @stub.function()
  triple(x: number) {
    return x * 3;
  }
}

class App {
  @stub.localEntrypoint()
  async run(n = 5) {
    console.log("App.run ran in " + where().split(" ")[0]);
    return [await fn(Tools.prototype.double).remote(n), await fn(Tools.prototype.triple).remote(n)];
  }
}
`,
);

/** No local entrypoint and exactly one function (the web endpoint does not count): it runs remotely. */
const ONE_FUNCTION = writeFixture(
  "entrypoints-one-function.ts",
  `import { Stub } from "stubrun";

const stub = new Stub("entrypoints-one-function");
if (!process.env.STUBRUN_APP_ID) console.log("top-level code ran locally pid=" + process.pid);

class Job {
  @stub.function()
  work(name = "job"): string {
    console.log("working on " + name);
    return name + " done in worker pid=" + process.pid + " app=" + process.env.STUBRUN_APP_ID;
  }

  @stub.webEndpoint()
  status() {
    return "ok";
  }
}
`,
);

const TWO_FUNCTIONS = writeFixture(
  "entrypoints-two-functions.ts",
  `import { Stub } from "stubrun";

const stub = new Stub();

class P {
  @stub.function()
  a() {
    return 1;
  }
}

class Q {
  @stub.function()
  b() {
    return 2;
  }

  @stub.webEndpoint()
  c() {
    return 3;
  }
}
`,
);

const WEB_ONLY = writeFixture(
  "entrypoints-web-only.ts",
  `import { Stub } from "stubrun";

const stub = new Stub();

class Hooks {
  @stub.webEndpoint({ method: "GET" })
  ping(word = "pong") {
    return { word, from: process.env.STUBRUN_APP_ID ? "worker" : "local" };
  }
}
`,
);

const NOTHING = writeFixture(
  "entrypoints-nothing.ts",
  `import { Stub } from "stubrun";

const stub = new Stub("entrypoints-nothing");

class Plain {
  helper() {
    return 1;
  }
}
`,
);

const NO_STUB = writeFixture(
  "entrypoints-no-stub.ts",
  `export function add(a: number, b: number) {
  return a + b;
}
`,
);

/** The id of the app a run created, from its status line. */
function appIdOf(r: RunResult): string {
  const match = /Created app (\S+)/.exec(r.stderr);
  if (!match) throw new Error(`no "Created app" status line in:\n${r.stderr}`);
  return match[1];
}

/** A usage error (exit 2, nothing on stdout) whose message lists exactly these candidates. */
function expectCandidates(r: RunResult, file: string, names: string[], allNames = MIXED_CANDIDATES) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  for (const name of names) expect(r.stderr).toContain(`  ${file}::${name}  `);
  for (const name of allNames.filter((n) => !names.includes(n))) expect(r.stderr).not.toContain(`::${name} `);
  expect(r.stderr).toMatch(new RegExp(`For example: npx stubrun ${escape(file)}::(${names.map(escape).join("|")})\\n`));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("choosing the entrypoint (SPEC §3)", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  describe("FILE::REF names it", () => {
    test("FILE::Class.method of a function runs it remotely, in a worker of this run's app", async () => {
      const r = await server.run([`${MIXED}::Alpha.whereAmI`]);
      expect(r.code).toBe(0);
      const app = appIdOf(r);
      const match = /^whereAmI printed from worker pid=(\d+) app=(\S+)\nworker pid=(\d+) app=(\S+)\n$/.exec(r.stdout);
      expect(match).not.toBeNull();
      expect([match![2], match![4]]).toEqual([app, app]);
      expect(match![1]).toBe(match![3]);
      expect(r.stderr).toContain("running Alpha.whereAmI remotely");
    });

    test("FILE::Class.method of a local entrypoint runs it in the CLI's process, which calls functions remotely", async () => {
      const r = await server.run([`${MIXED}::Alpha.main`]);
      expect(r.code).toBe(0);
      const app = appIdOf(r);
      const match = /^Alpha\.main ran in local pid=(\d+)\nwhereAmI printed from worker pid=(\d+) app=(\S+)\nremote says worker pid=\2 app=\3\n$/.exec(r.stdout);
      expect(match).not.toBeNull();
      expect(match![1]).not.toBe(match![2]);
      expect(match![3]).toBe(app);
      expect(r.stderr).toContain("running Alpha.main locally");
    });

    test("FILE::method is accepted when the method name is unique in the file", async () => {
      const [square, only] = await Promise.all([server.run([`${MIXED}::square`, "--x", "3"]), server.run([`${MIXED}::only`])]);
      expect(square).toMatchObject({ code: 0, stdout: "9\n" });
      expect(square.stderr).toContain("running Alpha.square remotely");
      expect(only.code).toBe(0);
      expect(only.stdout).toMatch(new RegExp(`^Solo\\.only ran in worker pid=\\d+ app=${appIdOf(only)}\\n$`));
    });

    test("FILE::Class is accepted when the class has exactly one runnable method", async () => {
      const r = await server.run([`${MIXED}::Solo`]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Solo\\.only ran in worker pid=\\d+ app=${appIdOf(r)}\\n$`));
      expect(r.stderr).toContain("running Solo.only remotely");
    });

    test("FILE::Class with several runnable methods is a usage error listing them", async () => {
      const r = await server.run([`${MIXED}::Alpha`]);
      expectCandidates(r, MIXED, ["Alpha.main", "Alpha.square", "Alpha.whereAmI"]);
      expect(r.stderr).toContain("class Alpha has 3 runnable methods");
    });

    test("FILE::method that several classes have is a usage error listing those", async () => {
      const r = await server.run([`${MIXED}::main`]);
      expectCandidates(r, MIXED, ["Alpha.main", "Beta.main"]);
      expect(r.stderr).toContain('"main" is a method of several classes');
    });

    test("an unknown reference is a usage error listing every candidate", async () => {
      const [noName, noMethod, empty] = await Promise.all([
        server.run([`${MIXED}::Nope`]),
        server.run([`${MIXED}::Alpha.nope`]),
        server.run([`${MIXED}::`]),
      ]);
      expectCandidates(noName, MIXED, MIXED_CANDIDATES);
      expect(noName.stderr).toContain("no class or method named Nope");
      expectCandidates(noMethod, MIXED, MIXED_CANDIDATES);
      expect(noMethod.stderr).toContain("no runnable Alpha.nope");
      expectCandidates(empty, MIXED, MIXED_CANDIDATES);
    });

    test("a single ':' is a usage error with a hint that '::' was meant", async () => {
      const [method, cls] = await Promise.all([server.run([`${MIXED}:Alpha.square`, "--x", "2"]), server.run([`${MIXED}:Solo`])]);
      expect(method).toMatchObject({ code: 2, stdout: "" });
      expect(method.stderr).toContain(`${MIXED}::Alpha.square`);
      expect(method.stderr).toContain("two colons");
      expect(cls).toMatchObject({ code: 2, stdout: "" });
      expect(cls.stderr).toContain(`${MIXED}::Solo`);
    });
  });

  describe("without ::", () => {
    test("the file's only local entrypoint is run, locally, even beside several functions", async () => {
      const [plain, withOption] = await Promise.all([server.run([ONE_LOCAL]), server.run([ONE_LOCAL, "--n", "2"])]);
      expect(plain).toMatchObject({ code: 0, stdout: "App.run ran in local\n[10,15]\n" });
      expect(plain.stderr).toContain("running App.run locally");
      expect(withOption).toMatchObject({ code: 0, stdout: "App.run ran in local\n[4,6]\n" });
    });

    test("with no local entrypoint, the only function runs remotely and the file's top-level code runs locally", async () => {
      const r = await server.run([ONE_FUNCTION, "--name", "report"]);
      expect(r.code).toBe(0);
      const app = appIdOf(r);
      const match = /^top-level code ran locally pid=(\d+)\nworking on report\nreport done in worker pid=(\d+) app=(\S+)\n$/.exec(r.stdout);
      expect(match).not.toBeNull();
      expect(match![1]).not.toBe(match![2]);
      expect(match![3]).toBe(app);
      // The web endpoint beside it is not a candidate for inference.
      expect(r.stderr).toContain("running Job.work remotely");
    });

    test("several local entrypoints are a usage error listing every candidate as FILE::Class.method, with an example", async () => {
      const r = await server.run([MIXED]);
      expectCandidates(r, MIXED, MIXED_CANDIDATES);
      expect(r.stderr).toContain("2 local entrypoints");
      expect(r.stderr).toContain(`For example: npx stubrun ${MIXED}::Alpha.main\n`);
    });

    test("several functions and no local entrypoint are a usage error listing them", async () => {
      const r = await server.run([TWO_FUNCTIONS]);
      expectCandidates(r, TWO_FUNCTIONS, ["P.a", "Q.b", "Q.c"], []);
      expect(r.stderr).toContain("no local entrypoint");
      expect(r.stderr).toContain(`For example: npx stubrun ${TWO_FUNCTIONS}::P.a\n`);
    });
  });

  describe("web endpoints", () => {
    test("are never picked by inference, even when they are the only thing in the file", async () => {
      const r = await server.run([WEB_ONLY]);
      expectCandidates(r, WEB_ONLY, ["Hooks.ping"], []);
      expect(r.stderr).toContain("web endpoint");
    });

    test("run remotely when named", async () => {
      const [named, byMethod, mixed] = await Promise.all([
        server.run([`${WEB_ONLY}::Hooks.ping`, "--word", "hi"]),
        server.run([`${WEB_ONLY}::ping`]),
        server.run([`${MIXED}::Web.hook`, "--n", "4"]),
      ]);
      expect(named).toMatchObject({ code: 0, stdout: '{"word":"hi","from":"worker"}\n' });
      expect(named.stderr).toContain("running Hooks.ping remotely");
      expect(byMethod).toMatchObject({ code: 0, stdout: '{"word":"pong","from":"worker"}\n' });
      expect(mixed).toMatchObject({ code: 0, stdout: "5\n" });
    });
  });

  describe("files that cannot run", () => {
    test("a file with nothing runnable, a file with no Stub and a missing file are usage errors", async () => {
      const [nothing, noStub, missing, missingRef] = await Promise.all([
        server.run([NOTHING]),
        server.run([NO_STUB]),
        server.run(["test/e2e/.fixtures/entrypoints-missing.ts"]),
        server.run(["test/e2e/.fixtures/entrypoints-missing.ts::A.b"]),
      ]);
      expect(nothing).toMatchObject({ code: 2, stdout: "" });
      expect(nothing.stderr).toContain(`${NOTHING} has nothing to run`);
      expect(nothing.stderr).toContain("@stub.localEntrypoint()");
      expect(noStub).toMatchObject({ code: 2, stdout: "" });
      expect(noStub.stderr).toContain(`${NO_STUB} creates no Stub`);
      expect(missing).toMatchObject({ code: 2, stdout: "" });
      expect(missing.stderr).toContain("no such file: test/e2e/.fixtures/entrypoints-missing.ts");
      expect(missingRef).toMatchObject({ code: 2, stdout: "" });
      expect(missingRef.stderr).toContain("no such file: test/e2e/.fixtures/entrypoints-missing.ts");
    });
  });

  describe("output", () => {
    test("the entrypoint's return value is printed on stdout: a string as is, anything else as compact JSON, undefined not at all", async () => {
      const [number, string, object] = await Promise.all([
        server.run([`${MIXED}::Alpha.square`, "--x", "12"]),
        server.run([`${MIXED}::Solo.only`]),
        server.run([`${MIXED}::Beta.main`]),
      ]);
      expect(number).toMatchObject({ code: 0, stdout: "144\n" });
      expect(string.stdout).toMatch(/^Solo\.only ran in worker pid=\d+ app=\S+\n$/);
      expect(object.code).toBe(0);
      expect(object.stdout).toMatch(/^Beta\.main ran in local pid=\d+\n\{"beta":true,"list":\[1,"two"\]\}\n$/);
      // Alpha.main returns undefined: its stdout is only what it printed (see the test above).
    });

    test("status lines go to stderr only; --quiet and -q silence them; errors still print", async () => {
      const [loud, quiet, q, quietError] = await Promise.all([
        server.run([`${MIXED}::square`, "--x", "5"]),
        server.run(["--quiet", `${MIXED}::square`, "--x", "5"]),
        server.run(["-q", `${MIXED}::square`, "--x", "5"]),
        server.run(["-q", NOTHING]),
      ]);
      expect(loud).toMatchObject({ code: 0, stdout: "25\n" });
      const app = appIdOf(loud);
      expect(loud.stderr).toContain(`Created app ${app} (entrypoints-mixed); running Alpha.square remotely`);
      expect(loud.stderr).toContain(`Stopped app ${app}`);
      expect(quiet).toMatchObject({ code: 0, stdout: "25\n", stderr: "" });
      expect(q).toMatchObject({ code: 0, stdout: "25\n", stderr: "" });
      expect(quietError).toMatchObject({ code: 2, stdout: "" });
      expect(quietError.stderr).toContain("nothing to run");
    });

    test("runner flags come before FILE: after it, -q belongs to the entrypoint", async () => {
      const r = await server.run([`${MIXED}::square`, "--x", "5", "-q"]);
      expect(r).toMatchObject({ code: 2, stdout: "" });
      expect(r.stderr).toContain("unknown option -q");
    });
  });

  test("`run` as an explicit command is the same as the default", async () => {
    const [named, inferred, quiet] = await Promise.all([
      server.run(["run", `${MIXED}::square`, "--x", "4"]),
      server.run(["run", ONE_LOCAL, "--n", "1"]),
      server.run(["run", "--quiet", `${MIXED}::square`, "--x", "4"]),
    ]);
    expect(named).toMatchObject({ code: 0, stdout: "16\n" });
    expect(named.stderr).toContain("running Alpha.square remotely");
    expect(inferred).toMatchObject({ code: 0, stdout: "App.run ran in local\n[2,3]\n" });
    expect(quiet).toMatchObject({ code: 0, stdout: "16\n", stderr: "" });
    const [error, defaultError] = await Promise.all([server.run(["run", MIXED]), server.run([MIXED])]);
    expect(error.code).toBe(2);
    expect(error.stderr).toBe(defaultError.stderr);
  });
});
