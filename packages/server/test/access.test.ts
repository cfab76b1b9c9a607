import type { IncomingMessage } from "node:http";
import { Access } from "../src/http/access";
import { AppTokens } from "../src/http/app-tokens";

/** Access on its own: Host, Origin and credentials for each door, with requests as plain objects. */

const LOCAL = "local-token";
const PORT = 7420;

function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

function access(host = "127.0.0.1", envToken?: string, tokens = new AppTokens()): Access {
  const a = Access.forHost(host, envToken, LOCAL, tokens);
  a.listening(PORT);
  return a;
}

const bearer = (token: string) => ({ host: `127.0.0.1:${PORT}`, authorization: `Bearer ${token}` });

describe("Access", () => {
  test("a loopback server takes its local token, or STUBRUN_TOKEN, as a full credential on every door", () => {
    const a = access("127.0.0.1", "env-token");
    for (const door of ["ws", "api", "apps"] as const) {
      expect(a.check(request(bearer(LOCAL)), door)).toEqual({ ok: true, credential: { kind: "full" } });
      expect(a.check(request(bearer("env-token")), door)).toEqual({ ok: true, credential: { kind: "full" } });
    }
  });

  test("no token, or a wrong one, is 401 saying which", () => {
    const a = access();
    expect(a.check(request({ host: `127.0.0.1:${PORT}` }), "api")).toMatchObject({ ok: false, status: 401, error: expect.stringContaining("it needs a token") });
    expect(a.check(request(bearer("nope")), "api")).toMatchObject({ ok: false, status: 401, error: expect.stringContaining("the token sent is not its token") });
  });

  test("a Host that is not the server's (another name, another port) is 403", () => {
    const a = access();
    expect(a.check(request({ ...bearer(LOCAL), host: `evil.example:${PORT}` }), "api")).toMatchObject({ ok: false, status: 403 });
    expect(a.check(request({ ...bearer(LOCAL), host: "127.0.0.1:1" }), "api")).toMatchObject({ ok: false, status: 403 });
    expect(a.check(request({ ...bearer(LOCAL), host: `localhost:${PORT}` }), "api")).toMatchObject({ ok: true });
    expect(a.checkHost(request({ host: `evil.example:${PORT}` }))).toMatchObject({ status: 403 });
    expect(a.checkHost(request({ host: `[::1]:${PORT}` }))).toBeUndefined();
  });

  test("a web page's Origin is refused; the server's own is not", () => {
    const a = access();
    expect(a.check(request({ ...bearer(LOCAL), origin: "https://evil.example" }), "ws")).toMatchObject({ ok: false, status: 403, error: expect.stringContaining("requests from web pages are refused") });
    expect(a.check(request({ ...bearer(LOCAL), origin: "null" }), "ws")).toMatchObject({ ok: false, status: 403 });
    expect(a.check(request({ ...bearer(LOCAL), origin: `http://127.0.0.1:${PORT}` }), "ws")).toMatchObject({ ok: true });
  });

  test("the apps page cookie opens /api and /apps, not the WebSocket", () => {
    const a = access();
    const cookie = { host: `127.0.0.1:${PORT}`, cookie: `other=1; ${a.cookieName}=${LOCAL}` };
    expect(a.cookieName).toBe(`stubrun_token_${PORT}`);
    expect(a.check(request(cookie), "apps")).toMatchObject({ ok: true, credential: { kind: "full" } });
    expect(a.check(request(cookie), "api")).toMatchObject({ ok: true });
    expect(a.check(request(cookie), "ws")).toMatchObject({ ok: false, status: 401 });
  });

  test("a worker's app token opens the WebSocket and the calls API (its own app's calls: calls-routes.ts), scoped to its app, until the app stops", () => {
    const tokens = new AppTokens();
    const a = access("127.0.0.1", undefined, tokens);
    const token = tokens.forApp("ap-1");
    expect(a.check(request(bearer(token)), "ws")).toEqual({ ok: true, credential: { kind: "app", appId: "ap-1" } });
    expect(a.check(request(bearer(token)), "api")).toMatchObject({ ok: false, status: 403, error: expect.stringContaining("workers of app ap-1") });
    expect(a.check(request(bearer(token)), "apps")).toMatchObject({ ok: false, status: 403 });
    expect(a.check(request(bearer(token)), "calls")).toEqual({ ok: true, credential: { kind: "app", appId: "ap-1" } });
    tokens.drop("ap-1");
    expect(a.check(request(bearer(token)), "calls")).toMatchObject({ ok: false, status: 401 });
    expect(a.check(request(bearer(token)), "ws")).toMatchObject({ ok: false, status: 401 });
  });

  test("a server beyond loopback needs STUBRUN_TOKEN, and then takes any Host with a valid bearer token", () => {
    expect(() => Access.forHost("0.0.0.0", undefined, LOCAL, new AppTokens())).toThrow("needs a token that clients must send");
    const a = access("10.1.2.3", "env-token");
    expect(a.check(request({ host: `server.lan:${PORT}`, authorization: "Bearer env-token" }), "api")).toMatchObject({ ok: true });
    expect(a.check(request({ host: `server.lan:${PORT}` }), "api")).toMatchObject({ ok: false, status: 403 });
    expect(a.check(request({ host: `10.1.2.3:${PORT}` }), "api")).toMatchObject({ ok: false, status: 401 });
  });

  test("isFullToken knows the full tokens only", () => {
    const a = access("127.0.0.1", "env-token");
    expect([LOCAL, "env-token", "local-toke", "", "x"].map((t) => a.isFullToken(t))).toEqual([true, true, false, false, false]);
  });
});
