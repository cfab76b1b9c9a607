import http from "node:http";
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { appList, freePort, runBin, withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Who may reach the server (SPEC §4, issue 7 items 1 and 5): a web page on another origin, a
 * request naming another host (DNS rebinding), a client without the token, and a function of
 * one app are all refused what they must not do; the CLI, the SDK and a function's nested calls
 * keep working.
 */

const CHROMIUM = process.env.STUBRUN_CHROMIUM ?? "/usr/bin/chromium";

const OTHER = writeFixture(
  "access-other.ts",
  `import { Stub } from "stubrun";
const stub = new Stub("access-other");
class Other {
  @stub.function()
  ping() { return "pong"; }
}
`,
);

/** A function that tries the server with its own credential, and without; and one that lists its environment. */
const PROBE = writeFixture(
  "access-probe.ts",
  `import { Stub, fn, lookup } from "stubrun";
const stub = new Stub("access-probe");
class Probe {
  @stub.function()
  envKeys() {
    return { keys: Object.keys(process.env).sort(), apiKey: process.env.API_KEY ?? null, token: process.env.STUBRUN_TOKEN };
  }

  @stub.function()
  double(x: number) { return x * 2; }

  /** Sends one request on a raw WebSocket with this worker's credential and returns the reply. */
  async raw(message: Record<string, unknown>) {
    const WebSocket = require("ws"); // resolved from the project, like any bare import missing from the upload
    const ws = new WebSocket(process.env.STUBRUN_SERVER_URL!.replace("http", "ws") + "/ws", { headers: { authorization: "Bearer " + process.env.STUBRUN_TOKEN } });
    return new Promise((resolve, reject) => {
      ws.on("open", () => ws.send(JSON.stringify({ ...message, id: 1 })));
      ws.on("message", (data: unknown) => {
        ws.close();
        resolve(JSON.parse(String(data)));
      });
      ws.on("error", reject);
    });
  }

  @stub.function()
  async probe(other: string, otherId: string) {
    const url = process.env.STUBRUN_SERVER_URL;
    const auth = { authorization: "Bearer " + process.env.STUBRUN_TOKEN };
    const status = async (p: string, init: RequestInit = {}) => (await fetch(url + p, init)).status;
    let lookupError = "";
    try {
      await lookup(other, "Other.ping");
    } catch (error) {
      lookupError = (error as Error).message;
    }
    const stop = (await this.raw({ type: "app.stop", appId: otherId })) as { ok: boolean; error?: { message: string } };
    const call = (await this.raw({ type: "call.start", appId: otherId, function: "Other.ping", args: [] })) as { ok: boolean; error?: { message: string } };
    return {
      rawStop: stop.ok ? "stopped!" : stop.error?.message,
      rawCall: call.ok ? "called!" : call.error?.message,
      listWithToken: await status("/api/apps", { headers: auth }),
      listWithout: await status("/api/apps"),
      stopWithToken: await status("/api/apps/" + other + "/stop", { method: "POST", headers: auth }),
      stopWithout: await status("/api/apps/" + other + "/stop", { method: "POST" }),
      appsPage: await status("/apps", { headers: auth }),
      lookupError,
      nested: await fn(this.double).remote(21),
    };
  }
}
`,
);

/** A raw HTTP request, so the test sets `Host` itself (fetch does not let it). */
function request(url: string, options: { method?: string; headers?: Record<string, string> }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function stateOf(server: TestServer, name: string): Promise<string | undefined> {
  return (await appList(server)).find((a) => a.name === name)?.state;
}

describe("who may reach the server", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  beforeAll(async () => {
    const deployed = await server.run(["deploy", OTHER]);
    expect(deployed.code).toBe(0);
  });

  test("a request without a token gets 401 saying what to send; with the token file's token, 200", async () => {
    const without = await fetch(`${server.url}/api/apps`);
    expect(without.status).toBe(401);
    expect(((await without.json()) as { error: string }).error).toMatch(/needs a token.*Authorization: Bearer TOKEN/);
    const wrong = await fetch(`${server.url}/api/apps`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const token = fs.readFileSync(path.join(server.home, "token"), "utf8").trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.statSync(path.join(server.home, "token")).mode & 0o777).toBe(0o600);
    const ok = await fetch(`${server.url}/api/apps`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { name: string }[]).map((a) => a.name)).toContain("access-other");
    // /health stays open: the CLI probes it before it has a token.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  test("the CLI without the token says how to fix it (exit 1)", async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-notoken-"));
    try {
      const r = await server.run(["app", "list"], { env: { STUBRUN_HOME: elsewhere } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the server at ${server.url} needs a token`);
      expect(r.stderr).toContain("set STUBRUN_TOKEN to its token, or STUBRUN_HOME to the home it was started with");
      const run = await server.run(["examples/hello.ts"], { env: { STUBRUN_TOKEN: "wrong" } });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`the server at ${server.url} refused the token (STUBRUN_TOKEN)`);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test("a request naming another host (DNS rebinding) gets 403, even with the token", async () => {
    const { port } = new URL(server.url);
    const evil = await request(`${server.url}/api/apps`, { headers: { host: `evil.example:${port}`, ...server.authHeaders } });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error).toContain(`the Host "evil.example:${port}" is not this server's address`);
    expect((await request(`${server.url}/apps`, { headers: { host: `evil.example:${port}` } })).status).toBe(403);
    // Loopback names with the server's port are its own.
    expect((await request(`${server.url}/api/apps`, { headers: { host: `localhost:${port}`, ...server.authHeaders } })).status).toBe(200);
    // Web endpoints are public by design, whatever name they are reached by.
    expect((await request(`${server.url}/web/access-other/Other.ping`, { headers: { host: `evil.example:${port}` } })).status).toBe(404);
  });

  test("a request from another origin gets 403, even with the token; the WebSocket too", async () => {
    const r = await request(`${server.url}/api/apps/access-other/stop`, {
      method: "POST",
      headers: { origin: "http://127.0.0.1:1", ...server.authHeaders },
    });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toContain("requests from web pages are refused");
    const ws = await request(`${server.url}/ws`, {
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", origin: "http://evil.example", ...server.authHeaders },
    });
    expect(ws.status).toBe(403);
    expect(await stateOf(server, "access-other")).toBe("deployed");
  });

  test("a WebSocket handshake whose URL cannot be read is answered 400, and the server stays up", async () => {
    const { port } = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = require("node:net").connect(Number(port), "127.0.0.1") as import("node:net").Socket;
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString()));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.write(`GET //% HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(server.alive).toBe(true);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  test("a web page on another origin cannot open the WebSocket nor stop an app with a form, even once logged in", async () => {
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Names resolve to nothing but loopback: no background request of the browser leaves this machine.
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
    });
    const wsUrl = `${server.url.replace("http", "ws")}/ws`;
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><html><body>
<form id="stop" method="POST" action="${server.url}/api/apps/access-other/stop"><input name="x" value="1"></form>
<script>
window.wsOutcome = new Promise((resolve) => {
  const ws = new WebSocket(${JSON.stringify(wsUrl)});
  ws.onopen = () => resolve("open");
  ws.onerror = () => resolve("refused");
});
</script></body></html>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    try {
      const page = await browser.newPage();
      // The user has the apps page open in this browser: its cookie would go along (same site: only the port differs).
      const login = await page.goto(`${server.url}/apps?token=${server.token}`);
      expect(login?.status()).toBe(200);
      expect(page.url()).toBe(`${server.url}/apps`);

      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      expect(await page.evaluate("window.wsOutcome")).toBe("refused");
      const [answer] = await Promise.all([page.waitForNavigation(), page.evaluate('document.getElementById("stop").submit()')]);
      expect(answer?.status()).toBe(403);
      expect(await answer?.text()).toContain("requests from web pages are refused");

      expect(await stateOf(server, "access-other")).toBe("deployed");
    } finally {
      await browser.close();
      await new Promise((resolve) => evil.close(resolve));
    }
  });

  test("a function's own credential reaches only its own app: no apps API, no other app; its nested calls work", async () => {
    const otherId = (await appList(server)).find((a) => a.name === "access-other")?.id as string;
    const r = await server.run([`${PROBE}::Probe.probe`, "--other", "access-other", "--other-id", otherId]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const seen = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(seen).toMatchObject({ listWithToken: 403, listWithout: 401, stopWithToken: 403, stopWithout: 401, appsPage: 403, nested: 42 });
    expect(seen.lookupError).toContain("looking up app access-other is refused: this connection uses the credential of the workers of app");
    expect(seen.rawStop).toContain("app.stop is refused: this connection uses the credential of the workers of app");
    expect(seen.rawCall).toContain(`a call of app ${otherId} is refused`);
    expect(await stateOf(server, "access-other")).toBe("deployed");
  });
});

describe("a worker's environment", () => {
  test("is SPEC §2's alone: nothing of the server's nor of the client that started the daemon", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-env-"));
    const env = { ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: `http://127.0.0.1:${await freePort()}`, STUBRUN_TOKEN: "" };
    try {
      // The first client starts the daemon with API_KEY in its environment; the second has its own.
      const first = await runBin([`${PROBE}::Probe.envKeys`], { env: { ...env, API_KEY: "first" } });
      expect(first.stderr).toContain("Starting a local stubrun server");
      expect(first.code).toBe(0);
      const second = await runBin([`${PROBE}::Probe.envKeys`], { env: { ...env, API_KEY: "second" } });
      expect(second.code).toBe(0);
      for (const r of [first, second]) {
        const seen = JSON.parse(r.stdout) as { keys: string[]; apiKey: string | null; token: string };
        expect(seen.apiKey).toBeNull();
        // Its credential is its app's, never the server's.
        expect(seen.token).not.toBe(fs.readFileSync(path.join(home, "token"), "utf8").trim());
        expect(seen.keys).toEqual(expect.arrayContaining(["STUBRUN_APP_ID", "STUBRUN_SERVER_URL", "STUBRUN_TOKEN", "STUBRUN_ENV"]));
        expect(seen.keys.filter((k) => !["PATH", "HOME", "LANG", "TZ", "STUBRUN_APP_ID", "STUBRUN_SERVER_URL", "STUBRUN_TOKEN", "STUBRUN_ENV"].includes(k))).toEqual([]);
      }
    } finally {
      await runBin(["server", "stop"], { env });
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
