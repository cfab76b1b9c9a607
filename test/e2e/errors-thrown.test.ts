import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Issue 12 item 3: errors users throw. A class known where the error arrives (declared in the
 * program's files, or registered) comes back as itself, fields included; anything else keeps its
 * name, message, stack and the fields that can be carried.
 */
const APP = writeFixture(
  "errors-thrown.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("errors-thrown");

class QuotaError extends Error {
  constructor(message: string, readonly limit: number, readonly used: number) {
    super(message);
    this.name = "QuotaError";
  }
}

class Shop {
  @stub.function()
  buy(n: number) {
    if (n > 3) throw Object.assign(new QuotaError(n + " is over the quota", 3, n), { when: new Date(0), handler: () => 1 });
    return n;
  }

  @stub.function()
  open() {
    require("node:fs").readFileSync("/nonexistent/stubrun-file");
  }

  @stub.localEntrypoint()
  async main() {
    try {
      await fn(this.buy).remote(5);
    } catch (e) {
      const q = e as QuotaError & { when: Date; handler?: unknown };
      console.log(JSON.stringify({ instance: e instanceof QuotaError, name: q.name, message: q.message, limit: q.limit, used: q.used, when: q.when instanceof Date, handler: typeof q.handler, stack: String(q.stack).includes("errors-thrown.ts") }));
    }
    try {
      await fn(this.open).remote();
    } catch (e) {
      const x = e as NodeJS.ErrnoException;
      console.log(JSON.stringify({ code: x.code, syscall: x.syscall, path: x.path }));
    }
  }
}
`,
);

describe("errors users throw", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("a class declared in the program comes back as itself with its fields; a system error keeps its fields", async () => {
    const r = await server.run(["-q", APP]);
    const [quota, system] = r.stdout.trim().split("\n").map((line) => JSON.parse(line));
    // The function-valued field cannot be carried: it is left out, the rest arrives.
    expect(quota).toEqual({ instance: true, name: "QuotaError", message: "5 is over the quota", limit: 3, used: 5, when: true, handler: "undefined", stack: true });
    expect(system).toEqual({ code: "ENOENT", syscall: "open", path: "/nonexistent/stubrun-file" });
    expect(r.code).toBe(0);
  });

  test("a lookup() client without the class keeps name, message and fields; with it registered, gets an instance", async () => {
    const deployed = await server.run(["deploy", APP]);
    expect(deployed.code).toBe(0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-errors-"));
    const program = path.join(dir, "call.cjs");
    fs.writeFileSync(
      program,
      `const { lookup, registerErrorClass } = require(${JSON.stringify(path.join(ROOT, "packages/client"))});
const show = (e) => console.log(JSON.stringify({ ctor: e.constructor.name, name: e.name, message: e.message, limit: e.limit, used: e.used }));
(async () => {
  const buy = await lookup("errors-thrown", "Shop.buy");
  await buy.remote(9).catch(show);
  class QuotaError extends Error {}
  registerErrorClass(QuotaError);
  await buy.remote(7).catch((e) => console.log(JSON.stringify({ instance: e instanceof QuotaError, limit: e.limit })));
})();
`,
    );
    const out = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [program], { env: server.env, stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (text += d));
      child.on("close", () => resolve(text));
    });
    fs.rmSync(dir, { recursive: true, force: true });
    const [unknown, registered] = out.trim().split("\n").map((line) => JSON.parse(line));
    expect(unknown).toEqual({ ctor: "Error", name: "QuotaError", message: "9 is over the quota", limit: 3, used: 9 });
    expect(registered).toEqual({ instance: true, limit: 3 });
  });
});
