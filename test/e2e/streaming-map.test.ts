import { withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Issue 11 item 2: `.map()` streams. Inputs from an async generator are read as the window of
 * running calls allows, so the first result arrives before the last input is read; results come
 * in input order (or as they finish with order: false); breaking out cancels what still runs.
 */
const APP = writeFixture(
  "streaming-map.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("streaming-map");

class Stream {
  @stub.function({ concurrencyLimit: 4 })
  double(x: number) {
    return x * 2;
  }

  @stub.function({ concurrencyLimit: 4 })
  async slowFirst(x: number) {
    if (x === 0) await new Promise((r) => setTimeout(r, 500));
    return x;
  }

  @stub.localEntrypoint()
  async main(n = 5000) {
    let read = 0;
    let readAtFirstResult = -1;
    async function* inputs() {
      for (let i = 0; i < n; i++) {
        read = i + 1;
        yield i;
      }
    }
    let sum = 0;
    let inOrder = true;
    let expected = 0;
    for await (const y of fn(this.double).map(inputs())) {
      if (readAtFirstResult < 0) readAtFirstResult = read;
      if (y !== expected * 2) inOrder = false;
      expected++;
      sum += y;
    }
    const unordered: number[] = [];
    for await (const y of fn(this.slowFirst).map([0, 1, 2, 3], { order: false })) unordered.push(y);
    let seen = 0;
    for await (const _ of fn(this.double).map(inputs())) if (++seen === 10) break;
    // An array of promises (inputs still being fetched): each is awaited, as for await would.
    const fromPromises: number[] = [];
    for await (const y of fn(this.double).map([1, 2, 3].map(async (x) => x))) fromPromises.push(y);
    const fromPromisedArgs: number[] = [];
    for await (const y of fn(this.double).starmap([Promise.resolve([5] as [number]), [6] as [number]])) fromPromisedArgs.push(y);
    return { sum, inOrder, count: expected, firstBeforeLastRead: readAtFirstResult < n, slowLast: unordered[unordered.length - 1] === 0, brokeAt: seen, fromPromises, fromPromisedArgs };
  }
}
`,
);

describe("a streaming .map()", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("reads a generator's inputs as results are consumed, keeps input order, yields as they finish with order: false, stops on break", async () => {
    const r = await server.run(["-q", APP, "--n", "5000"], { timeoutMs: 120_000 });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ sum: 5000 * 4999, inOrder: true, count: 5000, firstBeforeLastRead: true, slowLast: true, brokeAt: 10, fromPromises: [2, 4, 6], fromPromisedArgs: [10, 12] });
    expect(r.code).toBe(0);
  }, 150_000);
});
