import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { BinProcess, removeTempDirs, TestServer, tempDir, waitUntil, writeFixture } from "./harness";

/**
 * The HTTP side cannot be crashed or exhausted (issue 7): a malformed request is answered, a slow
 * or oversized one is cut off with a clear error, answers and followers are bounded, and web
 * endpoints read only what was sent and stop working for a client that left. After each attack
 * the server still answers and another app's call still works.
 */

const LIMITS = {
  requestTimeoutMs: 2_000,
  maxBodyBytes: 64 * 1024,
  maxLogBytesPerRequest: 64 * 1024,
  maxBufferedBytesPerClient: 1024 * 1024,
  maxWebRequestsPerApp: 10,
};

const APP = "http-hardening";
const OTHER = "http-hardening-other";

const API = `import { Stub } from "stubrun";
import fs from "node:fs";
import path from "node:path";

const stub = new Stub("${APP}");

function describe(value: unknown): unknown {
  return value === undefined ? "undefined" : { [typeof value]: value };
}

class Api {
  @stub.webEndpoint({ method: "POST" })
  own(constructor?: string, valueOf?: string, toString?: string) {
    return [constructor, valueOf, toString].map(describe);
  }

  @stub.webEndpoint({ method: "GET" })
  own2(constructor?: string, valueOf?: string, toString?: string) {
    return [constructor, valueOf, toString].map(describe);
  }

  @stub.webEndpoint({ method: "POST" })
  take(n?: number, data?: unknown) {
    return [n, data === undefined ? "undefined" : "data"];
  }

  @stub.webEndpoint({ method: "GET" })
  count(n: number) {
    return n;
  }

  @stub.webEndpoint({ method: "GET", concurrencyLimit: 4 })
  async wait(ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return "waited " + ms;
  }

  /** One call at a time; each start is a line in DIR/starts. */
  @stub.webEndpoint({ method: "GET", concurrencyLimit: 1 })
  async slow(dir: string, ms: number): Promise<string> {
    fs.appendFileSync(path.join(dir, "starts"), "start\\n");
    await new Promise((r) => setTimeout(r, ms));
    return "slept " + ms;
  }

  /** Prints LINES lines of about SIZE bytes. */
  @stub.webEndpoint({ method: "GET" })
  flood(lines: number, size: number, tag: string): number {
    for (let i = 0; i < lines; i++) console.log(tag + " " + i + " " + "x".repeat(size));
    return lines;
  }
}
`;

const OTHER_API = `import { Stub } from "stubrun";

const stub = new Stub("${OTHER}");

class Other {
  @stub.webEndpoint({ method: "GET" })
  ping(): string {
    return "pong";
  }
}
`;

const BROKEN = `import { Stub } from "stubrun";

const stub = new Stub("http-hardening-broken");

class Broken {
  @stub.enter()
  async setup() {
    // Only in the worker: its error names files of the server's code store.
    await import("./no-such-module-http-hardening");
  }

  @stub.webEndpoint({ method: "GET" })
  ping(): string {
    return "pong";
  }
}
`;

interface Reply {
  status: number;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

describe("the HTTP side holds", () => {
  let server: TestServer;

  /** Every /api request of this file goes through here (a token header, when the server needs one, goes here). */
  function api(pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
    return server.api(pathAndQuery, init);
  }

  async function web(method: "GET" | "POST", pathAndQuery: string, body?: string, signal?: AbortSignal): Promise<Reply> {
    const res = await fetch(`${server.url}/web/${pathAndQuery}`, {
      method,
      signal,
      ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, body: parsed, headers: res.headers };
  }

  /** The server answers, and another app's web endpoint still works. */
  async function expectServerFine(): Promise<void> {
    expect(server.alive).toBe(true);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await web("GET", `${OTHER}/Other.ping`)).toMatchObject({ status: 200, body: "pong" });
  }

  /** Writes `text` on a raw TCP connection and collects what comes back until the server closes it. */
  function raw(text: string | Buffer, options: { keepOpen?: boolean } = {}): Promise<{ answer: string; closed: boolean }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(new URL(server.url).port), "127.0.0.1", () => socket.write(text));
      let answer = "";
      socket.setEncoding("utf8").on("data", (d: string) => {
        answer += d;
        if (options.keepOpen && /\r\n\r\n/.test(answer)) {
          socket.destroy();
          resolve({ answer, closed: false });
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve({ answer, closed: true }));
      setTimeout(() => {
        socket.destroy();
        resolve({ answer, closed: false });
      }, 20_000).unref();
    });
  }

  beforeAll(async () => {
    server = await TestServer.start({ config: { limits: LIMITS } });
    for (const [name, source] of [
      ["http-hardening.ts", API],
      ["http-hardening-other.ts", OTHER_API],
    ]) {
      const r = await server.run(["deploy", writeFixture(name, source)]);
      if (r.code !== 0) throw new Error(`deploy ${name} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  });
  afterEach(() => BinProcess.killAll());
  afterAll(async () => {
    await server?.stop();
    removeTempDirs();
  });

  describe("malformed requests", () => {
    test("GET //% over a raw socket is answered, and the server stays up", async () => {
      const { answer } = await raw(`GET //% HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n\r\n`, { keepOpen: true });
      expect(answer).toMatch(/^HTTP\/1\.1 404 /);
      expect(answer).toContain("no route for GET //%");
      await expectServerFine();
      // The same path through the web endpoint and API prefixes.
      for (const target of ["/web//%", "/api/apps//%/logs", "//%/x", "http://[::1/x", "*"]) {
        const r = await raw(`GET ${target} HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n\r\n`, { keepOpen: true });
        expect({ target, answer: r.answer.slice(0, 12) }).toEqual({ target, answer: expect.stringMatching(/^HTTP\/1\.1 [45]\d\d/) });
      }
      await expectServerFine();
    });

    test("a request that is not HTTP is answered 400 and its connection closed", async () => {
      const r = await raw("HELLO THERE\r\n\r\n");
      expect(r.answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(r.closed).toBe(true);
      await expectServerFine();
    });

    test("a request whose body trickles in is cut off after limits.requestTimeoutMs (408), and the connection closed", async () => {
      const socket = net.connect(Number(new URL(server.url).port), "127.0.0.1");
      let answer = "";
      let closed = false;
      socket.setEncoding("utf8").on("data", (d: string) => (answer += d));
      socket.on("error", () => {});
      socket.on("close", () => (closed = true));
      socket.write(`POST /web/${APP}/Api.take HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
      const trickle = setInterval(() => socket.writable && socket.write(" "), 200);
      try {
        await waitUntil(() => closed, { timeoutMs: 30_000, what: () => `the server to close a trickling request (got ${JSON.stringify(answer)})` });
      } finally {
        clearInterval(trickle);
        socket.destroy();
      }
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      await expectServerFine();
    });

    test("connections past limits.maxConnections are refused, and the server serves again once they close", async () => {
      const small = await TestServer.start({ config: { limits: { maxConnections: 8 } } });
      const sockets: net.Socket[] = [];
      try {
        const port = Number(new URL(small.url).port);
        const closedEarly: boolean[] = [];
        for (let i = 0; i < 20; i++) {
          const socket = net.connect(port, "127.0.0.1");
          const at = i;
          closedEarly[at] = false;
          socket.on("error", () => {});
          socket.on("close", () => (closedEarly[at] = true));
          sockets.push(socket);
        }
        // The server drops the ones past its limit; the first 8 stay open.
        await waitUntil(() => closedEarly.filter(Boolean).length >= 12, { what: () => `12 of 20 connections dropped (dropped: ${closedEarly.filter(Boolean).length})` });
        expect(closedEarly.slice(0, 8).some(Boolean)).toBe(false);
        for (const socket of sockets) socket.destroy();
        await waitUntil(async () => (await fetch(`${small.url}/health`).catch(() => undefined))?.status === 200, { what: "the small server to answer again" });
      } finally {
        for (const socket of sockets) socket.destroy();
        await small.stop();
      }
    });
  });

  describe("request bodies over limits.maxBodyBytes", () => {
    /** POSTs `size` bytes of JSON (with Content-Length or chunked) and returns the answer the client saw. */
    function postLarge(size: number, chunked: boolean): Promise<{ status: number; body: any; connection?: string }> {
      return new Promise((resolve, reject) => {
        const req = http.request(
          `${server.url}/web/${APP}/Api.take`,
          { method: "POST", headers: { "content-type": "application/json", ...(chunked ? {} : { "content-length": String(size) }) } },
          (res) => {
            let text = "";
            res.setEncoding("utf8").on("data", (d: string) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), connection: res.headers.connection }));
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        // Written in pieces, as a client streaming a big body would.
        const piece = Buffer.alloc(16 * 1024, 0x20);
        let sent = 0;
        const more = () => {
          while (sent < size) {
            sent += piece.length;
            if (!req.write(piece)) return void req.once("drain", more);
          }
          req.end();
        };
        req.write("{");
        sent = 1;
        more();
      });
    }

    test.each([
      ["with a Content-Length over the limit", false],
      ["chunked, passing the limit as it arrives", true],
    ])("a body %s gets a 413 that names the limit and how to raise it", async (_what, chunked) => {
      const r = await postLarge(LIMITS.maxBodyBytes * 4, chunked);
      expect(r.status).toBe(413);
      expect(r.body.error).toMatch(/64 ?KiB|65536 bytes/);
      expect(r.body.error).toContain("maxBodyBytes");
      expect(r.body.error).toContain("config.json");
      expect(r.body.limit).toBe("maxBodyBytes");
      expect(r.connection).toBe("close");
      await expectServerFine();
    });

    test("a body under the limit is still read", async () => {
      const r = await web("POST", `${APP}/Api.take`, JSON.stringify({ n: 5, data: "x".repeat(LIMITS.maxBodyBytes / 2) }));
      expect(r).toMatchObject({ status: 200, body: [5, "data"] });
    });
  });

  describe("logs", () => {
    test("/api/apps/APP/logs carries at most limits.maxLogBytesPerRequest, the newest entries, and says how many were left out", async () => {
      expect(await web("GET", `${APP}/Api.flood?lines=200&size=1000&tag=capped`)).toMatchObject({ body: 200, status: 200 });
      const res = await api(`/api/apps/${APP}/logs?limit=10000`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMITS.maxLogBytesPerRequest);
      const entries = JSON.parse(text) as { data: string }[];
      expect(Array.isArray(entries)).toBe(true);
      // The newest lines are there, the oldest of the flood are not.
      const all = entries.map((e) => e.data).join("");
      expect(all).toContain("capped 199 ");
      expect(all).not.toContain("capped 0 ");
      expect(Number(res.headers.get("x-stubrun-omitted-entries"))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get("x-stubrun-omitted-reason")).toContain("maxLogBytesPerRequest");
      await expectServerFine();
    });

    test("a log follower that stops reading is ended with a `behind` event instead of being buffered for without bound", async () => {
      const socket = net.connect(Number(new URL(server.url).port), "127.0.0.1");
      let received = "";
      let ended = false;
      socket.on("error", () => {});
      socket.setEncoding("utf8").on("data", (d: string) => (received += d));
      socket.on("end", () => (ended = true));
      socket.write(`GET /api/apps/${APP}/logs?follow=1&limit=1 HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nAuthorization: Bearer ${server.token}\r\n\r\n`);
      try {
        await waitUntil(() => received.includes("200 OK"), { what: "the follow stream to start" });
        socket.pause(); // stops reading
        // 3 x 3 MiB of output, far past what the kernel and the 1 MiB limit hold.
        for (let i = 0; i < 3; i++) expect(await web("GET", `${APP}/Api.flood?lines=48&size=65536&tag=follow${i}`)).toMatchObject({ status: 200 });
        await new Promise((r) => setTimeout(r, 500));
        socket.resume();
        await waitUntil(() => ended, { timeoutMs: 30_000, what: () => `the follow stream to end (received ${received.length} bytes, last: ${JSON.stringify(received.slice(-200))})` });
        expect(received).toMatch(/event: behind\ndata: .*fell behind.*follow again/);
        // Of about 9 MiB written: the 1 MiB limit and what the kernel held (measured: 1.2 MB; the old server sent all of it).
        expect(received.length).toBeLessThan(5 * 1024 * 1024);
      } finally {
        socket.destroy();
      }
      await expectServerFine();
    });
  });

  describe("web endpoint parameters", () => {
    test("parameters named constructor, valueOf and toString are read from what was sent only", async () => {
      expect(await web("POST", `${APP}/Api.own`, "{}")).toMatchObject({ status: 200, body: ["undefined", "undefined", "undefined"] });
      expect(await web("POST", `${APP}/Api.own`, JSON.stringify({ constructor: "a", toString: "c" }))).toMatchObject({
        status: 200,
        body: [{ string: "a" }, "undefined", { string: "c" }],
      });
      expect(await web("GET", `${APP}/Api.own2`)).toMatchObject({ status: 200, body: ["undefined", "undefined", "undefined"] });
      expect(await web("GET", `${APP}/Api.own2?valueOf=b`)).toMatchObject({ status: 200, body: ["undefined", { string: "b" }, "undefined"] });
    });

    test("a number out of range (1e999) is 400 naming the parameter", async () => {
      for (const [method, target, body, name] of [
        ["POST", "Api.take", '{"n": 1e999}', "n"],
        ["POST", "Api.take", '{"n": -1e999}', "n"],
        ["POST", "Api.take", '{"data": {"deep": [1, 2, 1e999]}}', "data"],
        ["GET", "Api.count?n=1e999", undefined, "n"],
      ] as const) {
        const r = await web(method, `${APP}/${target}`, body);
        expect({ target, body, status: r.status }).toEqual({ target, body, status: 400 });
        expect(r.body.error).toContain(`"${name}"`);
      }
    });

    test("a JSON parameter nested 2,000 deep is 400 naming the parameter; 200 deep is fine", async () => {
      const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
      const deep = await web("POST", `${APP}/Api.take`, `{"data": ${nested(2_000)}}`);
      expect(deep.status).toBe(400);
      expect(deep.body.error).toContain('"data"');
      expect(deep.body.error).toContain("maxValueDepth");
      const veryDeep = await web("POST", `${APP}/Api.take`, `{"data": ${nested(30_000)}}`);
      expect(veryDeep.status).toBe(400);
      expect(await web("POST", `${APP}/Api.take`, `{"data": ${nested(200)}}`)).toMatchObject({ status: 200, body: [null, "data"] });
      await expectServerFine();
    });
  });

  describe("web endpoint calls", () => {
    test("calls whose client went away are cancelled, and the endpoint serves the next client", async () => {
      const dir = tempDir("http-hardening");
      const aborts = Array.from({ length: 10 }, () => new AbortController());
      const pending = aborts.map((abort) => web("GET", `${APP}/Api.slow?dir=${encodeURIComponent(dir)}&ms=2000`, undefined, abort.signal).catch((error: Error) => error));
      const callsOfSlow = async () =>
        ((await (await api(`/api/apps/${APP}/calls`)).json()) as { functionName: string; state: string }[]).filter((c) => c.functionName === "Api.slow");
      await waitUntil(async () => (await callsOfSlow()).length >= 10, { what: "10 calls of Api.slow" });
      for (const abort of aborts) abort.abort();
      for (const outcome of await Promise.all(pending)) expect(outcome).toMatchObject({ name: "AbortError" });
      const ended = await waitUntil(
        async () => {
          const calls = await callsOfSlow();
          return calls.every((c) => c.state === "cancelled") && calls;
        },
        { timeoutMs: 15_000, what: "the aborted calls to end cancelled" },
      );
      expect(ended).toHaveLength(10);
      const starts = () => (fs.existsSync(path.join(dir, "starts")) ? fs.readFileSync(path.join(dir, "starts"), "utf8").split("\n").filter(Boolean).length : 0);
      expect(starts()).toBeLessThanOrEqual(1);
      const next = await web("GET", `${APP}/Api.slow?dir=${encodeURIComponent(dir)}&ms=10`);
      expect(next).toMatchObject({ status: 200, body: "slept 10" });
      expect(starts()).toBeLessThanOrEqual(2);
      await expectServerFine();
    });

    test("past limits.maxWebRequestsPerApp running calls of one app, more answer 503 with Retry-After; other apps are not affected", async () => {
      const replies = Promise.all(Array.from({ length: LIMITS.maxWebRequestsPerApp + 3 }, () => web("GET", `${APP}/Api.wait?ms=1000`)));
      const refused = (await replies).filter((r) => r.status === 503);
      expect(refused).toHaveLength(3);
      expect(refused[0].headers.get("retry-after")).toBe("1");
      expect(refused[0].body.error).toContain("maxWebRequestsPerApp");
      expect((await replies).filter((r) => r.status === 200)).toHaveLength(LIMITS.maxWebRequestsPerApp);
      await expectServerFine();
    });

    test("an error answered to a web client carries its message, never a stack or a server path", async () => {
      const r = await server.run(["deploy", writeFixture("http-hardening-broken.ts", BROKEN)]);
      expect(r.code).toBe(0);
      const reply = await web("GET", "http-hardening-broken/Broken.ping");
      expect(reply.status).toBe(500);
      expect(typeof reply.body.error).toBe("string");
      expect(reply.text).not.toContain(server.home);
      expect(reply.text).not.toMatch(/\n\s+at |\\n\s+at /);
      expect(reply.text).not.toMatch(/\/(tmp|home|Users|private)\//);
      await expectServerFine();
    });
  });
});
