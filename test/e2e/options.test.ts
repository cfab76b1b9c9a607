import { TestServer, writeFixture, type RunResult } from "./harness";

/**
 * SPEC §3 "Options from parameters": each parameter of the entrypoint is an option, parsed by its
 * type, through the real bin against a real server. The local entrypoint prints the JS type of
 * every argument it received and returns them all, so stdout shows exactly what was parsed.
 */

const OPTS = writeFixture(
  "options-all.ts",
  `import { Stub, fn } from "stubrun";

const stub = new Stub("options-test");

type Mode = "fast" | "slow";

class Opts {
  /**
   * Shows every kind of option.
   * @param count how many times
   * @param label what to call it
   * @param verbose talk more
   * @param when the day it happened
   * @param mode how to go
   * @param level a direct union
   * @param times a number by default
   * @param loud a flag by default
   * @param note something optional
   * @param dryRun only pretend
   */
  @stub.localEntrypoint()
  show(
    count: number,
    label: string,
    verbose: boolean,
    when: Date,
    mode: Mode,
    level: "low" | "high" = "low",
    times = 2,
    loud = false,
    note?: string,
    dryRun = false,
  ) {
    const types = [count, label, verbose, when, mode, level, times, loud, note, dryRun].map((v) => (v instanceof Date ? "Date" : typeof v));
    console.log(types.join(","));
    return { count, label, verbose, when, mode, level, times, loud, note: note ?? null, dryRun };
  }

  /** A function: its options are parsed the same way, and the values arrive typed in the worker. */
  @stub.function()
  kinds(n: number, flag: boolean, when: Date, mode: Mode, maxItems = 1): string {
    const whenText = when instanceof Date ? "Date " + when.toISOString() : typeof when;
    return [typeof n, n, typeof flag, flag, whenText, mode, typeof maxItems, maxItems].join(" ");
  }
}
`,
);

const CARRY = writeFixture(
  "options-carry.ts",
  `import { Stub, fn } from "stubrun";

const stub = new Stub();

class Point {
  constructor(public x: number) {}
  norm() {
    return Math.abs(this.x);
  }
}

class Carry {
  @stub.function()
  echo(label: string, value: unknown) {
    return label + ": " + typeof value;
  }

  @stub.localEntrypoint()
  async sendFunction() {
    return fn(this.echo).remote("f", () => 1);
  }

  @stub.localEntrypoint()
  async sendInstance() {
    return fn(this.echo).remote("p", { nested: [new Point(3)] });
  }

  @stub.localEntrypoint()
  async sendData() {
    return fn(this.echo).remote("data", { when: new Date(0), tags: new Set(["a"]) });
  }
}
`,
);

/** The required options of Opts.show, with values; tests add or replace options after these. */
const REQUIRED = ["--count", "3", "--label", "hi", "--verbose", "--when", "2024-01-31", "--mode", "fast"];

const BASE_TYPES = "number,string,boolean,Date,string,string,number,boolean,undefined,boolean";
const ALL_GIVEN_TYPES = "number,string,boolean,Date,string,string,number,boolean,string,boolean";

/**
 * The stdout of Opts.show: the argument types line, then the returned values as JSON (in parameter
 * order): those REQUIRED gives, the method's defaults, and `changes`.
 */
function shown(types: string, changes: Record<string, unknown> = {}): string {
  const values: Record<string, unknown> = {
    count: 3,
    label: "hi",
    verbose: true,
    when: "2024-01-31T00:00:00.000Z",
    mode: "fast",
    level: "low",
    times: 2,
    loud: false,
    note: null,
    dryRun: false,
  };
  return `${types}\n${JSON.stringify({ ...values, ...changes })}\n`;
}

/** A usage error: exit 2, nothing on stdout, a message with these phrases and a pointer to --help. */
function expectUsageError(r: RunResult, ...phrases: string[]) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  for (const phrase of phrases) expect(r.stderr).toContain(phrase);
  expect(r.stderr).toContain(`See the options with: npx stubrun ${OPTS}::Opts.show --help`);
}

describe("options from parameters (SPEC §3)", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  /** Runs Opts.show quietly with the required options and then `extra`. */
  const show = (...extra: string[]) => server.run(["-q", OPTS, ...REQUIRED, ...extra]);

  describe("parsing", () => {
    test("number, string, flag, ISO date and choice parse to their types; unset options take the method's defaults", async () => {
      const r = await show();
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toBe(shown(BASE_TYPES));
    });

    test("every option given, with a date-time, --no-x for a flag, and a ? parameter", async () => {
      const r = await server.run([
        "-q",
        OPTS,
        ...["--count", "-4.5", "--label", "007", "--no-verbose", "--when", "2024-01-31T09:30:00+02:00", "--mode", "slow"],
        ...["--level", "high", "--times", "5", "--loud", "--note", "a b", "--dry-run"],
      ]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toBe(
        shown(ALL_GIVEN_TYPES, {
          ...{ count: -4.5, label: "007", verbose: false, when: "2024-01-31T07:30:00.000Z", mode: "slow" },
          ...{ level: "high", times: 5, loud: true, note: "a b", dryRun: true },
        }),
      );
    });

    test("a string option keeps its text exactly, even when it looks like a number", async () => {
      const r = await server.run(["-q", OPTS, "--count", "1e3", "--label", "1e3", "--verbose", "--when", "2024-01-31", "--mode", "fast", "--note", "0x10"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(shown(ALL_GIVEN_TYPES, { count: 1000, label: "1e3", note: "0x10" }));
    });

    test("a date alone is UTC midnight; a date-time is that instant", async () => {
      const withDate = (when: string) => server.run(["-q", OPTS, ...REQUIRED.slice(0, 5), "--when", when, "--mode", "fast"]);
      const [midnight, instant] = await Promise.all([withDate("2024-02-29"), withDate("2024-02-29T23:59:58.5Z")]);
      expect(midnight).toMatchObject({ code: 0, stdout: shown(BASE_TYPES, { when: "2024-02-29T00:00:00.000Z" }) });
      expect(instant).toMatchObject({ code: 0, stdout: shown(BASE_TYPES, { when: "2024-02-29T23:59:58.500Z" }) });
    });

    test("flags: --x and --no-x, also --x=true|false|1|0", async () => {
      const [on, off] = await Promise.all([show("--loud=true", "--dry-run=0"), show("--no-loud", "--dry-run=1")]);
      expect(on.stdout).toBe(shown(BASE_TYPES, { loud: true, dryRun: false }));
      expect(off.stdout).toBe(shown(BASE_TYPES, { loud: false, dryRun: true }));
    });

    test("camelCase dryRun answers to --dry-run and --dryRun (and --no-dryRun)", async () => {
      const [kebab, camel, negated] = await Promise.all([show("--dry-run"), show("--dryRun"), show("--no-dryRun")]);
      expect(kebab.stdout).toBe(shown(BASE_TYPES, { dryRun: true }));
      expect(camel.stdout).toBe(shown(BASE_TYPES, { dryRun: true }));
      expect(negated.stdout).toBe(shown(BASE_TYPES, { dryRun: false }));
    });

    test("a function's options are parsed the same way, and the values arrive typed in the worker", async () => {
      const [kebab, camel] = await Promise.all([
        server.run(["-q", `${OPTS}::Opts.kinds`, "--n", "2", "--flag", "--when", "2024-05-06", "--mode", "slow", "--max-items", "3"]),
        server.run(["-q", `${OPTS}::kinds`, "--n", "0.5", "--no-flag", "--when", "2024-05-06T01:02:03Z", "--mode", "fast", "--maxItems", "4"]),
      ]);
      expect(kebab).toMatchObject({ code: 0, stdout: "number 2 boolean true Date 2024-05-06T00:00:00.000Z slow number 3\n" });
      expect(camel).toMatchObject({ code: 0, stdout: "number 0.5 boolean false Date 2024-05-06T01:02:03.000Z fast number 4\n" });
    });
  });

  describe("usage errors (exit 2) name the option and what it expected", () => {
    test("a required option that is missing", async () => {
      const without = (name: string) => {
        const i = REQUIRED.indexOf(name);
        const args = name === "--verbose" ? REQUIRED.filter((a) => a !== name) : [...REQUIRED.slice(0, i), ...REQUIRED.slice(i + 2)];
        return server.run(["-q", OPTS, ...args]);
      };
      const [count, label, verbose, when, mode] = await Promise.all(["--count", "--label", "--verbose", "--when", "--mode"].map(without));
      expectUsageError(count, "missing required option --count", "expected a number");
      expectUsageError(label, "missing required option --label", "expected a string");
      expectUsageError(verbose, "missing required option --verbose", "expected true or false");
      expectUsageError(when, "missing required option --when", "expected an ISO date");
      expectUsageError(mode, "missing required option --mode", 'expected one of "fast", "slow"');
    });

    test("an option given without its value", async () => {
      const [atEnd, beforeFlag] = await Promise.all([show("--times"), show("--note", "--loud")]);
      expectUsageError(atEnd, "option --times needs a value", "expected a number");
      expectUsageError(beforeFlag, "option --note needs a value", "expected a string");
    });

    test("a value of the wrong type", async () => {
      const [count, times, mode, level] = await Promise.all([
        server.run(["-q", OPTS, "--count", "three", ...REQUIRED.slice(2)]),
        show("--times", "x"),
        server.run(["-q", OPTS, ...REQUIRED.slice(0, -1), "medium"]),
        show("--level", "mid"),
      ]);
      expectUsageError(count, "option --count expects a number", '"three"');
      // times = 2 has no annotation: its default makes it a number.
      expectUsageError(times, "option --times expects a number", '"x"');
      // Mode is a local type alias of a string-literal union.
      expectUsageError(mode, "option --mode expects one of \"fast\", \"slow\"", '"medium"');
      expectUsageError(level, "option --level expects one of \"low\", \"high\"", '"mid"');
    });

    test("a date that is not an ISO date, or not a real day", async () => {
      const withDate = (when: string) => server.run(["-q", OPTS, ...REQUIRED.slice(0, 5), "--when", when, "--mode", "fast"]);
      const [word, millis, month13, feb30] = await Promise.all(["yesterday", "1706659200000", "2024-13-01", "2023-02-29"].map(withDate));
      for (const [r, text] of [[word, "yesterday"], [millis, "1706659200000"], [month13, "2024-13-01"], [feb30, "2023-02-29"]] as const) {
        expectUsageError(r, "option --when expects an ISO date", JSON.stringify(text));
      }
    });

    test("a flag given a value that is not true or false", async () => {
      const [loud, dryRun] = await Promise.all([show("--loud=maybe"), show("--dryRun=yes please")]);
      expectUsageError(loud, "option --loud expects true or false", '"maybe"');
      expectUsageError(dryRun, "option --dryRun expects true or false", '"yes please"');
    });

    test("an unknown option, or a value without an option", async () => {
      const [unknown, short, stray] = await Promise.all([show("--bogus", "3"), show("-z"), show("extra")]);
      expectUsageError(unknown, "unknown option --bogus", "--count, --label, --verbose, --when, --mode, --level, --times, --loud, --note, --dry-run");
      expectUsageError(short, "unknown option -z");
      expectUsageError(stray, 'unexpected argument "extra"');
    });

    test("an option given twice", async () => {
      expectUsageError(await show("--count", "4"), "option --count was given 2 times");
    });
  });

  describe("FILE::REF --help", () => {
    test("lists every option with its type, default or required, choices and TSDoc description; exits 0 without running", async () => {
      const [named, inferred, short] = await Promise.all([
        server.run([`${OPTS}::Opts.show`, "--help"]),
        server.run([OPTS, "--help"]),
        server.run([`${OPTS}::show`, "-h"]),
      ]);
      expect(named).toMatchObject({ code: 0, stderr: "" });
      const lines = named.stdout.split("\n");
      expect(lines[0]).toBe(`Usage: stubrun ${OPTS}::Opts.show [options]`);
      expect(named.stdout).toContain("Shows every kind of option.");
      expect(named.stdout).toContain("a local entrypoint, runs in this process");
      const row = (pattern: RegExp) => expect(lines.some((line) => pattern.test(line))).toBe(true);
      row(/^ {2}--count <number> +how many times +required$/);
      row(/^ {2}--label <string> +what to call it +required$/);
      row(/^ {2}--verbose, --no-verbose +talk more +required$/);
      row(/^ {2}--when <date> +the day it happened +required$/);
      row(/^ {2}--mode <fast\|slow> +how to go +required$/);
      row(/^ {2}--level <low\|high> +a direct union +default: "low"$/);
      row(/^ {2}--times <number> +a number by default +default: 2$/);
      row(/^ {2}--loud, --no-loud +a flag by default +default: false$/);
      row(/^ {2}--note <string> +something optional +optional$/);
      row(/^ {2}--dry-run, --no-dry-run +only pretend +default: false$/);
      expect(named.stdout).not.toContain("--dryRun");
      expect(inferred).toMatchObject({ code: 0, stdout: named.stdout });
      expect(short).toMatchObject({ code: 0, stdout: named.stdout });
    });

    test("for a function, says it runs remotely", async () => {
      const r = await server.run([`${OPTS}::Opts.kinds`, "--help"]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toContain(`Usage: stubrun ${OPTS}::Opts.kinds [options]`);
      expect(r.stdout).toContain("a function, runs remotely");
      expect(r.stdout).toMatch(/^ {2}--max-items <number> +default: 1$/m);
      expect(r.stdout).toMatch(/^ {2}--mode <fast\|slow> +required$/m);
    });
  });

  describe("values that cannot be carried", () => {
    test("a local entrypoint passing a function or a class instance to .remote() is refused, naming the argument", async () => {
      const [func, instance, data] = await Promise.all([
        server.run(["-q", `${CARRY}::sendFunction`]),
        server.run(["-q", `${CARRY}::sendInstance`]),
        server.run(["-q", `${CARRY}::sendData`]),
      ]);
      expect(func).toMatchObject({ code: 1, stdout: "" });
      expect(func.stderr).toContain("argument 2 of Carry.echo");
      expect(func.stderr).toContain("is a function");
      expect(instance).toMatchObject({ code: 1, stdout: "" });
      expect(instance.stderr).toContain("argument 2 of Carry.echo");
      expect(instance.stderr).toContain("nested[0]");
      expect(instance.stderr).toContain("instance of Point");
      expect(data).toMatchObject({ code: 0, stdout: "data: object\n" });
    });
  });
});
