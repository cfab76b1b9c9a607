import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { BIN, runBin, writeFixture, BEYOND_LOOPBACK } from "./harness";
import { TestHost, testWithTestHost } from "./test-host";

/**
 * SPEC §4: a server that listens elsewhere than loopback requires a token from every client.
 * "Elsewhere" is a test host (a network namespace): clients there reach this machine at the host
 * end of its veth, the one non-loopback address these tests use.
 */
describe("a server listening beyond loopback", () => {
  const homes: string[] = [];
  let lan: TestHost | undefined;
  afterAll(() => {
    lan?.destroy();
    homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true }));
  });

  /** `stubrun server --host HOST` with STUBRUN_TOKEN=s3cret on a fresh home, once it listens. */
  async function startServerWithToken(host: string): Promise<{ home: string; server: ChildProcess; port: string }> {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-token-"));
    homes.push(home);
    const server = spawn(process.execPath, [BIN, "server", "--host", host, "--port", "0"], {
      env: { ...process.env, STUBRUN_HOME: home, ...BEYOND_LOOPBACK, STUBRUN_TOKEN: "s3cret" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const port = await new Promise<string>((resolve, reject) => {
      let log = "";
      server.stderr.setEncoding("utf8").on("data", (d: string) => {
        log += d;
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(log);
        if (m) resolve(m[1]);
      });
      server.once("exit", () => reject(new Error(log)));
    });
    return { home, server, port };
  }

  /** The test host, made on first use (only tests that need it make it). */
  async function testHost(): Promise<TestHost> {
    return (lan ??= await TestHost.create());
  }

  test("refuses to start without STUBRUN_TOKEN (exit 2, saying what to set)", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-token-"));
    homes.push(home);
    const env = { ...process.env, STUBRUN_HOME: home, ...BEYOND_LOOPBACK, STUBRUN_TOKEN: "" };
    const r = await runBin(["server", "--host", "0.0.0.0", "--port", "0"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("needs a token");
    expect(r.stderr).toContain("STUBRUN_TOKEN");
  });

  testWithTestHost("answers clients elsewhere only with the token; clients on this machine read its token file", async () => {
    const elsewhere = await testHost();
    const { home, server, port } = await startServerWithToken("0.0.0.0");
    try {
      const remote = `http://${elsewhere.hostAddress}:${port}`;
      const base = { ...process.env, STUBRUN_HOME: home };
      // The client elsewhere: the real bin, run inside the test host.
      const refused = await elsewhere.runBin(["examples/hello.ts"], { env: { ...base, STUBRUN_SERVER_URL: remote, STUBRUN_TOKEN: "" } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`the server at ${remote} needs a token (STUBRUN_TOKEN is not set): set STUBRUN_TOKEN to its token`);
      const wrong = await elsewhere.runBin(["app", "list"], { env: { ...base, STUBRUN_SERVER_URL: remote, STUBRUN_TOKEN: "nope" } });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain(`the server at ${remote} refused the token (STUBRUN_TOKEN): set STUBRUN_TOKEN to its token`);
      const ok = await elsewhere.runBin(["examples/hello.ts"], { env: { ...base, STUBRUN_SERVER_URL: remote, STUBRUN_TOKEN: "s3cret" } });
      expect(ok.stdout).toBe("Hello world!\n");
      expect(ok.code).toBe(0);
      const local = await runBin(["examples/hello.ts"], { env: { ...base, STUBRUN_SERVER_URL: `http://127.0.0.1:${port}`, STUBRUN_TOKEN: "" } });
      expect(local.stdout).toBe("Hello world!\n");
    } finally {
      server.kill("SIGTERM");
      await new Promise((resolve) => server.once("exit", resolve));
    }
  });

  /** A function that calls another function of its app: the worker calls back with its app's credential. */
  const NESTED = writeFixture(
    "token-nested.ts",
    `import { Stub, fn } from "stubrun";
const stub = new Stub("token-nested");
class Nest {
  @stub.function()
  inner(x: number) { return x + 1; }

  @stub.function()
  async outer(x: number) {
    return { url: process.env.STUBRUN_SERVER_URL, value: await fn(this.inner).remote(x) };
  }
}
`,
  );

  for (const bind of ["one LAN address", "every address (0.0.0.0)"]) {
    testWithTestHost(`a function's nested call works on a server bound to ${bind}`, async () => {
      const elsewhere = await testHost();
      // "One LAN address" is this machine's end of the test host's veth.
      const host = bind.startsWith("one") ? elsewhere.hostAddress : "0.0.0.0";
      const { home, server, port } = await startServerWithToken(host);
      try {
        const remote = `http://${elsewhere.hostAddress}:${port}`;
        const r = await elsewhere.runBin([`${NESTED}::Nest.outer`, "--x", "41"], { env: { ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: remote, STUBRUN_TOKEN: "s3cret" } });
        expect(r.stderr).not.toContain("Error");
        expect(r.code).toBe(0);
        const seen = JSON.parse(r.stdout) as { url: string; value: number };
        expect(seen.value).toBe(42);
        // A server on one address gives workers that address: before, they were refused there without a token.
        expect(seen.url).toBe(host === "0.0.0.0" ? `http://127.0.0.1:${port}` : remote);
      } finally {
        server.kill("SIGTERM");
        await new Promise((resolve) => server.once("exit", resolve));
      }
    });
  }
});
