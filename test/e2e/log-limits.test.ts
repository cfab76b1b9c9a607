import { TestServer, writeFixture } from "./harness";

/**
 * Issue 7 points 4 and 8: output kept per call is counted in UTF-8 bytes (what is stored and
 * sent), up to `limits.maxOutputBytesPerCall`; an app keeps about `limits.maxLogLinesPerApp` lines.
 */

const FILE = writeFixture(
  "log-limits.ts",
  `import { Stub, fn } from "stubrun";

const stub = new Stub("log-limits");

class Noisy {
  /** 800 characters, 1,600 bytes in UTF-8. */
  @stub.function()
  accents(): string {
    process.stderr.write("é".repeat(800) + "\\n");
    return "done";
  }

  @stub.function()
  lines(n: number): number {
    for (let i = 1; i <= n; i++) console.error(String(i));
    return n;
  }

  @stub.localEntrypoint()
  async main(what: string) {
    console.log(what === "accents" ? await fn(this.accents).remote() : await fn(this.lines).remote(250));
  }
}
`,
);

describe("log limits, from the server's config", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start({ config: { limits: { maxOutputBytesPerCall: 1200, maxLogLinesPerApp: 50 } } })));
  afterAll(() => server.stop());

  test("output over maxOutputBytesPerCall bytes (UTF-8, not UTF-16 units) is cut, with a note", async () => {
    const run = await server.run([FILE, "--what", "accents"]);
    expect(run.stdout).toBe("done\n");
    const appId = /Created app (\S+)/.exec(run.stderr)?.[1] as string;
    const logs = await server.run(["app", "logs", appId]);
    const kept = (logs.stderr.match(/é+/g) ?? []).join("");
    expect(Buffer.byteLength(kept)).toBe(1200); // 600 of the 800 characters
    expect(logs.stderr).toMatch(/\[stubrun\] \[stubrun: output of fc-\S+ over 1200 bytes is not kept \(limits\.maxOutputBytesPerCall\)\]/);
  });

  test("an app keeps about maxLogLinesPerApp lines, the newest", async () => {
    const run = await server.run([FILE, "--what", "lines"]);
    expect(run.stdout).toBe("250\n");
    const appId = /Created app (\S+)/.exec(run.stderr)?.[1] as string;
    const logs = await server.run(["app", "logs", appId, "-n", "1000"]);
    const lines = logs.stderr.match(/^\d+$/gm) ?? [];
    expect(lines.length).toBeLessThanOrEqual(100); // pruned every maxLogLinesPerApp appends: at most twice the limit
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.at(-1)).toBe("250");
    expect(logs.stderr).not.toMatch(/not kept/);
  });
});
