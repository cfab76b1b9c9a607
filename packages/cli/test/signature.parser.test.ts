import { parseClassMembers, parseSignatures } from "../src/loader/signature.parser";

const designExample = `
import { Stub } from "@stubrun/sdk";
type Mode = "fast" | "slow";
const stub = new Stub("demo");

export class App {
  /**
   * Greets people.
   *
   * @param foo how many foos
   * @param bar - the bar,
   *   on two lines
   * @param mode how hard to try
   * @returns nothing
   */
  @stub.localEntrypoint()
  async main(foo: number, bar: string, times = 2, loud = false, label?: string, when?: Date, mode: Mode = "fast", tags: string[] = []) {}
}
`;

describe("parseSignatures", () => {
  it("reads the DESIGN.md §3 signature", () => {
    expect(parseSignatures(designExample, "app.ts")).toEqual([
      {
        className: "App",
        methodName: "main",
        description: "Greets people.",
        params: [
          { name: "foo", type: "number", required: true, description: "how many foos" },
          { name: "bar", type: "string", required: true, description: "the bar, on two lines" },
          { name: "times", type: "number", required: false, defaultText: "2" },
          { name: "loud", type: "boolean", required: false, defaultText: "false" },
          { name: "label", type: "string", required: false },
          { name: "when", type: "date", required: false },
          { name: "mode", type: "choice", choices: ["fast", "slow"], required: false, defaultText: '"fast"', description: "how hard to try" },
          { name: "tags", type: "json", required: false, defaultText: "[]" },
        ],
      },
    ]);
  });

  it("gives the same spans on a second call and after a different file", () => {
    const first = parseSignatures(designExample, "app.ts");
    parseSignatures(`class Other { run(x = "a long default value") {} }`, "other.ts");
    expect(parseSignatures(designExample, "app.ts")).toEqual(first);
    expect(parseSignatures(`class B { m(y = 42) {} }`, "b.ts")[0].params[0]).toEqual({
      name: "y", type: "number", required: false, defaultText: "42",
    });
  });

  it("slices by bytes, so non-ASCII text before a method does not shift defaults", () => {
    const source = `// Grüße, 日本語, 🚀
const greeting = "héllo wörld 🎉";
class Ünïcode {
  /** Sagt «hallo». @param name wer 👋 */
  greet(name = "Zoë", count = -1, note = \`ça va\`) {}
}`;
    expect(parseSignatures(source, "u.ts")).toEqual([
      {
        className: "Ünïcode",
        methodName: "greet",
        description: "Sagt «hallo».",
        params: [
          { name: "name", type: "string", required: false, defaultText: '"Zoë"', description: "wer 👋" },
          { name: "count", type: "number", required: false, defaultText: "-1" },
          { name: "note", type: "string", required: false, defaultText: "`ça va`" },
        ],
      },
    ]);
  });

  it("handles a leading shebang, BOM and block comment", () => {
    for (const prefix of ["#!/usr/bin/env node\n", "\uFEFF", "/* licence */\n\n", "\uFEFF// x\n"]) {
      const [sig] = parseSignatures(`${prefix}class A { m(s = "x") {} }`, "a.ts");
      expect(sig.params[0].defaultText).toBe('"x"');
    }
  });

  it("finds every method of every class, exported or not", () => {
    const source = `
export class A { one() {} constructor(private z: number) {} get g() { return 1; } static two(x: number) {} }
class B { three() {} #hidden() {} [Symbol.iterator]() {} }
const C = class { four() {} };
export default class D { five() { class Inner { six() {} } } }
`;
    const names = parseSignatures(source, "m.ts").map((s) => `${s.className}.${s.methodName}`);
    expect(names).toEqual(["A.one", "A.two", "B.three", "C.four", "D.five", "Inner.six"]);
  });

  it("reads doc comments before or after decorators, and ignores other comments", () => {
    const source = `
class A {
  @stub.function({ timeout: 5 })
  /** After the decorator. @param x the x */
  after(x: number) {}

  /** Before the decorator. */
  @stub.function()
  @other()
  before(y: number) {}

  /** Not mine: a plain comment follows. */
  /* plain */
  plain() {}

  undocumented() {}
}`;
    const sigs = parseSignatures(source, "d.ts");
    expect(sigs.map((s) => s.description)).toEqual(["After the decorator.", "Before the decorator.", undefined, undefined]);
    expect(sigs[0].params[0].description).toBe("the x");
  });

  it("types unions, aliases, defaults and patterns", () => {
    const source = `
class A {
  m(
    a: "x" | "y" | undefined,
    b: Choice,
    c: number | undefined,
    d: any,
    e: unknown,
    f: { x: number },
    g = new Date("2020-01-01"),
    h = someCall(),
    i = \`\${h}\`,
    j: Date | null,
    { p, q }: Opts = {},
    ...rest: number[]
  ) {}
}
type Choice = Inner | "z";
type Inner = ("u" | "v");
`;
    expect(parseSignatures(source, "t.ts")[0].params).toEqual([
      { name: "a", type: "choice", choices: ["x", "y"], required: false },
      { name: "b", type: "choice", choices: ["u", "v", "z"], required: true },
      { name: "c", type: "number", required: false },
      { name: "d", type: "json", required: true },
      { name: "e", type: "json", required: true },
      { name: "f", type: "json", required: true },
      { name: "g", type: "date", required: false, defaultText: 'new Date("2020-01-01")' },
      { name: "h", type: "json", required: false, defaultText: "someCall()" },
      { name: "i", type: "json", required: false, defaultText: "`${h}`" },
      { name: "j", type: "date", required: true },
      { name: "{ p, q }", type: "json", required: false, defaultText: "{}" },
      { name: "rest", type: "json", required: false },
    ]);
  });

  it("throws swc's error, naming the file, on a syntax error", () => {
    expect(() => parseSignatures("class A {\n  m(x: ) {}\n}", "broken.ts")).toThrow(/broken\.ts:2/);
  });
});

describe("parseClassMembers: @stub.parameter() properties", () => {
  it("reads their types, choices, defaults, optionality and docs; other properties are not parameters", () => {
    const source = `
type Size = "small" | "large";
class Model {
  /** which model to load */
  @stub.parameter() size: Size = "small";
  @stub.parameter() temperature!: number;
  @stub.parameter({ default: 3 }) retries!: number;
  @stub.parameter() region?: string;
  @stub.parameter() verbose = false;
  @other() notAParameter = 1;
  plain = "x";
}`;
    expect(parseClassMembers(source, "model.ts").parameters).toEqual([
      { className: "Model", param: { name: "size", type: "choice", choices: ["small", "large"], required: false, defaultText: '"small"', description: "which model to load" } },
      { className: "Model", param: { name: "temperature", type: "number", required: true } },
      { className: "Model", param: { name: "retries", type: "number", required: false, defaultText: "3" } },
      { className: "Model", param: { name: "region", type: "string", required: false } },
      { className: "Model", param: { name: "verbose", type: "boolean", required: false, defaultText: "false" } },
    ]);
  });
});
