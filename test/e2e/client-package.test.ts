import fs from "node:fs";
import path from "node:path";
import { runNode, type NodeResult } from "./deploy-helpers";
import { freePort, ROOT, tempDir, withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Issue 8 item 1: a program that depends only on `@stubrun/client` (no `stubrun`, no server, no
 * compiler, no native addon) calls a deployed function with `lookup()`, and loads nothing of the
 * server or the CLI. With no server answering at a loopback URL it cannot start one: it says how.
 */

const APP = "client-pkg-calc";

const CALC = writeFixture(
  "client-pkg-calc.ts",
  `import { Stub } from "stubrun";

const stub = new Stub(${JSON.stringify(APP)});

class Calc {
  @stub.function()
  square(x: number): number {
    return x * x;
  }
}
`,
);

/** Calls Calc.square three ways, checks a rejection against the client's error classes, and lists heavy modules it loaded. */
const PROGRAM = path.join(
  ROOT,
  writeFixture(
    "client-pkg-program.cjs",
    `const client = require("@stubrun/client");
const { lookup, StubrunError } = client;
const out = (label, value) => console.log(JSON.stringify([label, value]));

(async () => {
  const square = await lookup(process.argv[2], "Calc.square");
  out("remote", await square.remote(3));
  out("spawn + get", await (await square.spawn(4)).get());
  const ys = [];
  for await (const y of square.map([1, 2])) ys.push(y);
  out("map", ys);
  try {
    await lookup(process.argv[2], "Calc.cube");
  } catch (error) {
    // The rejection is an instance of the class the client exports under its name.
    out("missing", { name: error.name, exported: error instanceof client[error.name], stubrun: error instanceof StubrunError, mentions: error.message.includes("Calc.cube") });
  }
  // What a lookup-only program must never load: the server, SQLite, the compiler, the CLI, the daemon starter.
  out("heavy modules", Object.keys(require.cache).filter((file) => /better-sqlite3|@swc|packages[\\\\/](server|cli|daemon|stubrun|worker)[\\\\/]/.test(file)));
})().catch((error) => {
  console.error(error.name + ": " + error.message);
  process.exitCode = 1;
});
`,
  ),
);

/** An ESM program that only looks a function up, printing the rejection's class and message. */
const ESM_LOOKUP = path.join(
  ROOT,
  writeFixture(
    "client-pkg-lookup.mjs",
    `import { lookup, ServerUnavailableError } from "@stubrun/client";

try {
  const square = await lookup(process.argv[2], "Calc.square");
  console.log(JSON.stringify(["remote", await square.remote(5)]));
} catch (error) {
  console.log(JSON.stringify(["rejected", error instanceof ServerUnavailableError, error.message]));
}
`,
  ),
);

function lines(r: NodeResult): [string, unknown][] {
  if (r.hung) throw new Error(`the program did not exit by itself\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout
    .trimEnd()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as [string, unknown]);
}

describe("@stubrun/client: lookup() without the stubrun package", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("calls a deployed function with .remote, .spawn + get and .map; its errors are the client's classes; nothing of the server is loaded", async () => {
    const deploy = await server.run(["deploy", CALC]);
    expect(deploy.code).toBe(0);

    const r = await runNode(PROGRAM, [APP], server.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(lines(r)).toEqual([
      ["remote", 9],
      ["spawn + get", 16],
      ["map", [1, 4]],
      ["missing", { name: "RequestRefusedError", exported: true, stubrun: true, mentions: true }],
      ["heavy modules", []],
    ]);

    const esm = await runNode(ESM_LOOKUP, [APP], server.env);
    expect(lines(esm)).toEqual([["remote", 25]]);
  });

  test("no server at a loopback URL: a clear ServerUnavailableError saying how to start one, and no daemon started", async () => {
    const home = tempDir("client-no-server");
    const url = `http://127.0.0.1:${await freePort()}`;
    const env: NodeJS.ProcessEnv = { ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: url, STUBRUN_TOKEN: undefined };

    const r = await runNode(ESM_LOOKUP, [APP], env);
    expect(r.code).toBe(0);
    expect(lines(r)).toEqual([["rejected", true, expect.stringContaining(`no stubrun server answers at ${url}; start one with \`npx stubrun server start\``)]]);
    expect(fs.existsSync(path.join(home, "server.pid"))).toBe(false);
    expect(fs.readdirSync(home)).toEqual([]);
  });
});
