import type { AddressInfo } from "node:net";
import type http from "node:http";
import { createHttpServer } from "../src/http/http-server";
import { findTooDeepJson } from "../src/http/json-text-depth";

/**
 * DESIGN §5: "No listener callback may throw: every handler of an HTTP request catches, answers,
 * and goes on." What a handler throws or rejects with is answered 500 without its stack.
 */

describe("createHttpServer: no handler error escapes", () => {
  let server: http.Server;
  let url: string;
  const written: string[] = [];
  const realWrite = process.stderr.write.bind(process.stderr);

  beforeAll(async () => {
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    server = createHttpServer({ requestTimeoutMs: 5_000, maxConnections: 16 }, async (req, res) => {
      if (req.url === "/throws") throw new Error("thrown at /secret/path/server.js");
      if (req.url === "/rejects") return Promise.reject(new Error("rejected at /secret/path/server.js"));
      if (req.url === "/throws-late") {
        res.writeHead(200);
        res.write("partial");
        throw new Error("after the headers");
      }
      res.end("fine");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    process.stderr.write = realWrite;
    await new Promise((resolve) => server.close(resolve));
  });

  test.each(["/throws", "/rejects"])("%s is answered 500 with a short message and no stack; the stack goes to stderr", async (path) => {
    const res = await fetch(url + path);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error).toMatch(/internal error/);
    expect(text).not.toContain("/secret/path");
    expect(written.join("")).toMatch(new RegExp(`${path}: Error: .*at /secret/path/server.js\\n\\s+at `));
    expect(await (await fetch(`${url}/ok`)).text()).toBe("fine");
  });

  test("a throw after the headers went out ends that response; the server goes on", async () => {
    await expect(fetch(`${url}/throws-late`).then((r) => r.text())).rejects.toThrow();
    expect(await (await fetch(`${url}/ok`)).text()).toBe("fine");
  });
});

describe("findTooDeepJson", () => {
  test("finds the top-level key a too-deep value is under, ignoring brackets in strings", () => {
    expect(findTooDeepJson('{"a": 1, "b": [[["x"]]]}', 3)).toEqual({ key: "b" });
    expect(findTooDeepJson('{"a": "[[[[[[", "b": [["]]]]"]]}', 3)).toBeUndefined();
    expect(findTooDeepJson('{"a\\"b": [[[1]]]}', 3)).toEqual({ key: 'a"b' });
    expect(findTooDeepJson("[[[[1]]]]", 3)).toEqual({ key: undefined });
    expect(findTooDeepJson("[".repeat(1_000_000), 256)).toEqual({ key: undefined });
  });
});
