import { runBin, TestServer } from "./harness";

/** One server per STUBRUN_HOME: a second would share the first one's database and pid file. */
describe("a second server on the same STUBRUN_HOME", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test("is refused (exit 2), naming the running one; the first keeps serving", async () => {
    const r = await runBin(["server", "--port", "0"], { env: server.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/another stubrun server \(pid \d+, http:\/\/127\.0\.0\.1:\d+\) already uses STUBRUN_HOME=/);
    expect(server.alive).toBe(true);
    expect((await server.run(["examples/hello.ts"])).stdout).toBe("Hello world!\n");
  });
});
