import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { moduleFacts, scanImportGraph } from "../src/loader/import-graph";
import { parseSource } from "../src/loader/source-parser";

const facts = (source: string) => moduleFacts(parseSource(source, `/virtual/${Math.random()}.ts`).module);

describe("moduleFacts", () => {
  it.each([
    ["an await statement", "await start();"],
    ["an awaited initializer", "export const config = await load();"],
    ["an await inside a top-level block", "if (ready) { for (const x of xs) { await x; } }"],
    ["for await", "for await (const line of lines) console.log(line);"],
    ["await using", "await using handle = open();"],
    ["export default await", "export default await load();"],
  ])("finds top-level await in %s", (_what, source) => {
    expect(facts(source).topLevelAwait).toBe(true);
  });

  it.each([
    ["an async function", "async function f() { await g(); }"],
    ["an async arrow", "const f = async () => await g();"],
    ["a class method", "class A { async m() { await g(); } }"],
    ["an object method", "const o = { async m() { await g(); }, get x() { return 1; } };"],
    ["a function expression", "const f = async function () { for await (const x of xs) {} };"],
    ["an identifier named await-like", "const awaited = 1; export { awaited };"],
  ])("finds none in %s", (_what, source) => {
    expect(facts(source).topLevelAwait).toBe(false);
  });

  it("lists the literal imports of every kind, not type-only ones or computed paths", () => {
    const { requests } = facts(`
import { a } from "./a.js";
import type { T } from "./types.js";
import "./side-effect";
export * from "./b.js";
export { c } from "./c.js";
export type { U } from "./u.js";
import d = require("./d");
const e = require("./e");
async function later(name: string) {
  await import("./f.js");
  await import(\`./g.js\`);
  await import(\`./plugins/\${name}.js\`);
  await import(name);
}
import pkg from "some-package";
`);
    expect(requests).toEqual(["./a.js", "./side-effect", "./b.js", "./c.js", "./d", "./e", "./f.js", "./g.js", "some-package"]);
  });
});

describe("scanImportGraph", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-import-graph-"));
    const files: Record<string, string> = {
      "app.ts": 'import { b } from "./lib/b.js";\nimport "lodash";\nexport const f = () => import("./lazy.js");\n',
      "lib/b.ts": 'import "../app.js";\nexport const b = 1;\n',
      "lazy.ts": "export const x = await Promise.resolve(1);\n",
      "broken.ts": "export const y = ;\n",
    };
    for (const [name, source] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), source);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Relative requests only (packages never reach it), `.js` meaning the `.ts` beside it. */
  const resolveLocal = (request: string, importer: string) => {
    const target = path.resolve(path.dirname(importer), request.replace(/\.js$/, ".ts"));
    return fs.existsSync(target) ? target : undefined;
  };

  it("follows static and dynamic local imports once each, cycles included, and says which files await at their top level", () => {
    const graph = scanImportGraph(path.join(dir, "app.ts"), resolveLocal);
    expect(graph.files.map((f) => path.relative(dir, f))).toEqual(["app.ts", "lib/b.ts", "lazy.ts"]);
    expect(graph.awaitingAtTop.map((f) => path.relative(dir, f))).toEqual(["lazy.ts"]);
  });

  it("reports a syntax error as file:line", () => {
    expect(() => scanImportGraph(path.join(dir, "broken.ts"), resolveLocal)).toThrow(/broken\.ts:1: Expression expected/);
  });
});
