import { spawn } from "node:child_process";
import { BIN, ROOT, withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Issue 12 item 8: web endpoints that own the response. A method that takes the Web's `Request`
 * gets the raw HTTP request (any method, headers, body), and the `Response` it returns sets the
 * status, headers and body. Bytes a function returns are the same bytes from the CLI and the endpoint.
 */
const APP = writeFixture(
  "web-responses.ts",
  `import { Stub } from "stubrun";
const stub = new Stub("web-responses");

class Hooks {
  @stub.webEndpoint({ method: "POST" })
  async receive(request: Request): Promise<Response> {
    const text = await request.text();
    const seen = { method: request.method, path: new URL(request.url).pathname, query: new URL(request.url).searchParams.get("q"), signature: request.headers.get("x-signature"), text };
    return new Response(JSON.stringify(seen), { status: 201, headers: { "content-type": "application/json", "x-handled-by": "stubrun", "set-cookie": "a=1" } });
  }

  @stub.webEndpoint()
  teapot(request: Request): Response {
    return new Response("short and stout", { status: 418, headers: { "content-type": "text/plain" } });
  }

  @stub.webEndpoint()
  pixel(): Uint8Array {
    return new Uint8Array([137, 80, 78, 71, 0, 255]);
  }
}
`,
);

describe("web endpoints that own the response", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("a Request parameter gets the raw request, and a Response sets status, headers and body", async () => {
    const deployed = await server.run(["deploy", APP]);
    expect(deployed.code).toBe(0);
    const res = await fetch(`${server.url}/web/web-responses/Hooks.receive?q=42`, { method: "POST", body: "raw <not json>", headers: { "x-signature": "sig-1" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-handled-by")).toBe("stubrun");
    expect(res.headers.get("set-cookie")).toBe("a=1");
    expect(await res.json()).toEqual({ method: "POST", path: "/web/web-responses/Hooks.receive", query: "42", signature: "sig-1", text: "raw <not json>" });
    // It answers any method: it reads request.method itself.
    const teapot = await fetch(`${server.url}/web/web-responses/Hooks.teapot`, { method: "DELETE" });
    expect(teapot.status).toBe(418);
    expect(await teapot.text()).toBe("short and stout");
  });

  test("bytes a function returns are the same bytes from the endpoint and from the CLI", async () => {
    const res = await fetch(`${server.url}/web/web-responses/Hooks.pixel`);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([137, 80, 78, 71, 0, 255]);
    // The CLI writes them as they are (`stubrun app.ts::Hooks.pixel > pixel.png`).
    const stdout = await new Promise<Buffer>((resolve) => {
      const child = spawn(process.execPath, [BIN, "-q", `${APP}::Hooks.pixel`], { cwd: ROOT, env: server.env, stdio: ["ignore", "pipe", "inherit"] });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
      child.on("close", () => resolve(Buffer.concat(chunks)));
    });
    expect([...stdout]).toEqual([137, 80, 78, 71, 0, 255]);
  });
});
