import { TestServer, writeFixture } from "./harness";

/** Workers have a heap limit (STUBRUN_WORKER_MEMORY_MB, default 2048): a runaway function fails its call, quickly. */
describe("a worker that runs out of memory", () => {
  let server: TestServer;
  beforeAll(async () => {
    process.env.STUBRUN_WORKER_MEMORY_MB = "128"; // the server reads it when it forks workers
    server = await TestServer.start();
    delete process.env.STUBRUN_WORKER_MEMORY_MB;
  });
  afterAll(() => server.stop());

  test("fails its call saying the worker died, and the server keeps serving", async () => {
    const file = writeFixture(
      "worker-memory-hog.ts",
      `import { Stub } from "stubrun";
const stub = new Stub("worker-memory");
class Hog {
  @stub.function()
  hog() {
    const keep: number[][] = [];
    for (;;) keep.push(new Array(1_000_000).fill(1));
  }

  @stub.function()
  fine() {
    return "still serving";
  }
}
`,
    );
    const r = await server.run([`${file}::Hog.hog`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("heap out of memory");
    expect(r.stderr).toMatch(/Hog\.hog: the worker exited with (signal SIGABRT|code \d+) while running the call/);
    expect(server.alive).toBe(true);
    const after = await server.run([`${file}::Hog.fine`]);
    expect(after.stdout).toBe("still serving\n");
  });
});
