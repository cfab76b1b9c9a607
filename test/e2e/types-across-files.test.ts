import { withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Issue 12 item 1: parameter types declared in another local file (through an import, a
 * re-export, `export *`) give the same options as types declared beside the method: string and
 * numeric literal unions and enums are choices, numbers passed as numbers.
 */
writeFixture(
  "types-across/types.ts",
  `export type Mode = "fast" | "slow";
export type Level = 1 | 2 | 3;
export enum Color { Red = "red", Green = "green" }
export enum Size { Small, Medium, Large }
`,
);
writeFixture("types-across/index.ts", `export * from "./types";\nexport { Mode as Speed } from "./types";\n`);
const APP = writeFixture(
  "types-across/app.ts",
  `import { Stub, fn } from "stubrun";
import type { Level } from "./types";
import { Color, Size, type Speed } from "./index";

const stub = new Stub("types-across");

class Shapes {
  @stub.function()
  describe(mode: Speed, level: Level, color: Color, size: Size): string {
    return JSON.stringify({ mode, level, color, size, kinds: [typeof level, typeof size] });
  }

  @stub.localEntrypoint()
  async main(mode: Speed = "fast", level: Level = 2, color: Color = Color.Red, size: Size = Size.Small) {
    return fn(this.describe).remote(mode, level, color, size);
  }
}
`,
);

describe("types from other files", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("--help shows the choices of aliases and enums imported and re-exported from other files", async () => {
    const r = await server.run([APP, "--help"]);
    expect(r.stdout).toContain("--mode <fast|slow>");
    expect(r.stdout).toContain("--level <1|2|3>");
    expect(r.stdout).toContain("--color <red|green>");
    expect(r.stdout).toContain("--size <0|1|2>");
    expect(r.code).toBe(0);
  });

  test("the values reach the function as the types say: strings, and numbers for numeric choices", async () => {
    const r = await server.run(["-q", APP, "--mode", "slow", "--level", "3", "--color", "green", "--size", "1"]);
    expect(JSON.parse(r.stdout)).toEqual({ mode: "slow", level: 3, color: "green", size: 1, kinds: ["number", "number"] });
    expect(r.code).toBe(0);
  });

  test("a value outside a numeric union is refused, naming the choices (exit 2)", async () => {
    const r = await server.run([APP, "--level", "7"]);
    expect(r.stderr).toContain("Error: option --level expects one of 1, 2, 3, got \"7\"");
    expect(r.code).toBe(2);
  });

  test("a web endpoint's query parameters follow the same choices", async () => {
    const deployed = await server.run(["deploy", APP.replace("app.ts", "web.ts")]);
    expect(deployed.code).toBe(0);
    const ok = await fetch(`${server.url}/web/types-across-web/Web.pick?level=2`);
    expect(await ok.json()).toEqual({ level: 2, kind: "number" });
    const refused = await fetch(`${server.url}/web/types-across-web/Web.pick?level=9`);
    expect(refused.status).toBe(400);
  });
});

writeFixture(
  "types-across/web.ts",
  `import { Stub } from "stubrun";
import type { Level } from "./index";
const stub = new Stub("types-across-web");
class Web {
  @stub.webEndpoint()
  pick(level: Level) {
    return { level, kind: typeof level };
  }
}
`,
);
