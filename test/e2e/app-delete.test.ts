import { withTestServer, writeFixture, type TestServer } from "./harness";

/** Issue 13 item 1: `stubrun app delete APP [--yes]` (SPEC §3). */
const APP = writeFixture(
  "app-delete.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("app-delete-demo");
class Gone {
  @stub.webEndpoint()
  hello() {
    console.log("said hello");
    return "hello";
  }

  @stub.localEntrypoint()
  async main() {
    return fn(this.hello).remote();
  }
}
`,
);

describe("stubrun app delete", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("stops the app, removes it with its versions, calls and logs; its name and web endpoints are gone, then free", async () => {
    expect((await server.run(["deploy", APP])).code).toBe(0);
    expect((await server.run(["deploy", APP.replace(".ts", ".ts")])).code).toBe(0);
    expect((await fetch(`${server.url}/web/app-delete-demo/Gone.hello`)).status).toBe(200);

    // Not on a terminal: it asks for --yes rather than deleting unasked.
    const unasked = await server.run(["app", "delete", "app-delete-demo"]);
    expect(unasked.stderr).toContain("removes it and its history for good: confirm with --yes");
    expect(unasked.code).toBe(2);

    const deleted = await server.run(["app", "delete", "app-delete-demo", "--yes"]);
    expect(deleted.stderr).toMatch(/^Deleted app ap-\w+ \(app-delete-demo\): \d+ call record\(s\) and \d+ log entries removed$/m);
    expect(deleted.code).toBe(0);
    expect((await server.run(["app", "list", "--all"])).stdout).not.toContain("app-delete-demo");
    expect((await fetch(`${server.url}/web/app-delete-demo/Gone.hello`)).status).toBe(404);
    const logs = await server.run(["app", "logs", "app-delete-demo"]);
    expect(logs.code).not.toBe(0);
    const history = await server.run(["app", "history", "app-delete-demo"]);
    expect(history.code).not.toBe(0);

    const again = await server.run(["deploy", APP]);
    expect(again.stdout).toMatch(/^Created app app-delete-demo \(ap-\w+\), version 1/);
  });

  test("an app that does not exist: a clear error, nothing else touched", async () => {
    const r = await server.run(["app", "delete", "no-such-app-here", "--yes"]);
    expect(r.stderr).toContain('no app');
    expect(r.code).not.toBe(0);
    expect((await server.api("/api/apps")).status).toBe(200);
  });
});
