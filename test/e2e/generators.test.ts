import { withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Issue 12 item 5: generator functions. `remoteGen()` yields a remote generator's values as it
 * produces them (Modal's `remote_gen`); `.remote()` and `.map()` of one say to use it instead.
 */
const APP = writeFixture(
  "generators.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("generators");

class Gen {
  @stub.function()
  async *numbers(n: number) {
    for (let i = 1; i <= n; i++) {
      console.log("making " + i);
      yield { i, square: i * i, at: new Date(i * 1000) };
    }
  }

  @stub.function()
  *plain(n: number) {
    for (let i = 0; i < n; i++) yield i;
  }

  @stub.function()
  async *failing() {
    yield 1;
    throw new Error("ran dry");
  }

  @stub.localEntrypoint()
  async main() {
    const got: string[] = [];
    for await (const x of fn(this.numbers).remoteGen(3)) got.push(x.i + ":" + x.square + ":" + (x.at instanceof Date));
    console.log("async " + got.join(","));
    const plain: number[] = [];
    for await (const y of fn(this.plain).remoteGen(4)) plain.push(y);
    console.log("plain " + plain.join(","));
    for await (const x of fn(this.numbers).remoteGen(1000)) if (x.i === 2) break;
    console.log("stopped early");
    try {
      for await (const y of fn(this.failing).remoteGen()) console.log("before the error " + y);
    } catch (e) {
      console.log("error " + (e as Error).message);
    }
  }

  @stub.localEntrypoint()
  async misuse() {
    try {
      await fn(this.numbers).remote(2);
    } catch (e) {
      console.log("remote: " + (e as Error).message);
    }
    try {
      for await (const y of fn(this.numbers).map([1])) console.log(y);
    } catch (e) {
      console.log("map: " + (e as Error).message);
    }
  }
}
`,
);

describe("generator functions", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("remoteGen yields the values as they come, stops the call when the loop breaks, and rethrows the function's error", async () => {
    const r = await server.run(["-q", `${APP}::Gen.main`]);
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => !l.startsWith("making"))).toEqual(["async 1:1:true,2:4:true,3:9:true", "plain 0,1,2,3", "stopped early", "before the error 1", "error ran dry"]);
    // The function's output arrived too, each line before the value it led to.
    expect(lines.indexOf("making 1")).toBeLessThan(lines.indexOf("async 1:1:true,2:4:true,3:9:true"));
    expect(r.code).toBe(0);
  });

  test(".remote() and .map() of a generator function say to use remoteGen", async () => {
    const r = await server.run(["-q", `${APP}::Gen.misuse`]);
    expect(r.stdout).toContain("remote: Gen.numbers is a generator function: iterate what it yields with for await (const x of fn(...).remoteGen(...))");
    expect(r.stdout).toContain("map: Gen.numbers is a generator function");
    expect(r.code).toBe(0);
  });

  test("run directly, a generator function prints each value it yields", async () => {
    const r = await server.run(["-q", `${APP}::Gen.plain`, "--n", "3"]);
    expect(r.stdout).toBe("0\n1\n2\n");
    expect(r.code).toBe(0);
  });
});
