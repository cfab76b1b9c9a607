import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { runBin } from "./harness";

/** A port taken by something that is not a stubrun server: a clear error, and no daemon started over it. */
describe("STUBRUN_SERVER_URL pointing at something else", () => {
  let other: http.Server;
  let url: string;
  let home: string;
  beforeAll(async () => {
    other = http.createServer((_req, res) => res.writeHead(404).end("not here"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-url-"));
  });
  afterAll(async () => {
    await new Promise((resolve) => other.close(resolve));
    fs.rmSync(home, { recursive: true, force: true });
  });

  test.each([["examples/hello.ts"], ["app", "list"]])("stubrun %s: exit 1, saying something other than a stubrun server answers", async (...args) => {
    const r = await runBin(args, { env: { ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`something other than a stubrun server answers at ${url}`);
    expect(r.stderr).not.toContain("Starting a local stubrun server");
  });
});
