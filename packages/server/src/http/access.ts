import { isLoopbackUrl, UsageError } from "@stubrun/protocol";
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import os from "node:os";
import type { AppTokens } from "./app-tokens";

/** Who presented what: the server's own token (full access), or a worker's token scoped to its app. */
export type Credential = { kind: "full" } | { kind: "app"; appId: string };

/**
 * The doors that need a credential: the WebSocket, the apps API, the apps page, and the calls
 * API (`/api/calls/...`), which a worker's credential may use for its own app's calls, and the
 * blobs API (`/api/blobs/...`), which it uses to load and commit Volumes.
 */
export type Door = "ws" | "api" | "apps" | "calls" | "blobs";

/** A refusal: an HTTP status and a message that says why. */
export type Refusal = { ok: false; status: 401 | 403; error: string };

/** Access granted, or refused. */
export type Decision = { ok: true; credential: Credential } | Refusal;

/**
 * Who may use the server (SPEC §4, docs/security.md):
 * - every request but `/web` and `/health` must name the server by its own address or a loopback
 *   name, with its port, in `Host` (a DNS-rebinding page names its own domain);
 * - the WebSocket, `/api` and `/apps` refuse an `Origin` other than the server's own (a web page
 *   the user visits is not a client), and need a credential, on loopback too: the full token
 *   (`STUBRUN_TOKEN`, or the local token in `$STUBRUN_HOME/token`) as `Authorization: Bearer`,
 *   or, for `/api` and `/apps` in a browser, the cookie `/apps?token=T` sets; or a worker's token
 *   scoped to its app, which opens the WebSocket (`client-scope.ts` limits what it may ask) and
 *   the calls API for its own app's calls only, and the blobs API (a Volume's content goes by it:
 *   any blob its hash names may be read, and uploads keep the blob limits).
 */
export class Access {
  private port = 0;
  private readonly fullTokens: Buffer[];

  private constructor(
    private readonly bindHost: string,
    tokens: string[],
    private readonly appTokens: AppTokens,
  ) {
    this.fullTokens = tokens.map((t) => Buffer.from(t));
  }

  /** `envToken` is `STUBRUN_TOKEN`, required beyond loopback; `localToken` the one in `$STUBRUN_HOME/token`. */
  static forHost(host: string, envToken: string | undefined, localToken: string, appTokens: AppTokens): Access {
    if (!isLoopbackHost(host) && !envToken) {
      throw new UsageError(`listening on ${host} (not loopback) needs a token that clients must send: set STUBRUN_TOKEN for the server and its clients`);
    }
    return new Access(host, [localToken, ...(envToken ? [envToken] : [])], appTokens);
  }

  /** The port the server listens on, once it does: `Host` must carry it. */
  listening(port: number): void {
    this.port = port;
  }

  /** The cookie that carries the full token for the apps page; named by port, since cookies ignore ports. */
  get cookieName(): string {
    return `stubrun_token_${this.port}`;
  }

  /** Host, Origin and credential checks for one of the doors. */
  check(req: IncomingMessage, door: Door): Decision {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headerOf(req, "authorization") ?? "")?.[1];
    const fromBearer = bearer === undefined ? undefined : this.credentialOf(bearer);
    if (!this.hostAllowed(req) && !(fromBearer && !isLoopbackHost(this.bindHost))) return this.badHost(req);
    const origin = headerOf(req, "origin");
    if (origin !== undefined && !sameOrigin(origin, headerOf(req, "host"))) {
      return {
        ok: false,
        status: 403,
        error: `requests from web pages are refused (Origin ${origin} is not this server's): browsers are not clients of the stubrun server; use the CLI or the SDK, or its own apps page`,
      };
    }
    let credential = fromBearer;
    if (!credential && door !== "ws") {
      const cookie = cookieOf(req, this.cookieName);
      if (cookie !== undefined && this.isFullToken(cookie)) credential = { kind: "full" };
    }
    if (!credential) {
      const why = bearer === undefined ? "it needs a token" : "the token sent is not its token";
      return {
        ok: false,
        status: 401,
        error: `this server refused the request (${why}): send Authorization: Bearer TOKEN, where TOKEN is the server's STUBRUN_TOKEN or the content of the token file in its STUBRUN_HOME (the CLI and the SDK send it by themselves)`,
      };
    }
    // The calls API checks that a worker's credential names the call's app (calls-routes.ts).
    if (credential.kind === "app" && door !== "ws" && door !== "calls" && door !== "blobs") {
      return {
        ok: false,
        status: 403,
        error: `this credential belongs to the workers of app ${credential.appId}: it may only start and cancel calls of that app, look it up and move Volume content (/api/blobs), not use the apps API or page`,
      };
    }
    return { ok: true, credential };
  }

  /** Host check alone, for routes other than the doors (web endpoints and /health are exempt). */
  checkHost(req: IncomingMessage): Refusal | undefined {
    return this.hostAllowed(req) ? undefined : this.badHost(req);
  }

  /** Whether `token` is the server's full token (for the apps page's login link). */
  isFullToken(token: string): boolean {
    const given = Buffer.from(token);
    return this.fullTokens.some((t) => t.length === given.length && timingSafeEqual(t, given));
  }

  private credentialOf(token: string): Credential | undefined {
    if (this.isFullToken(token)) return { kind: "full" };
    const appId = this.appTokens.appOf(token);
    return appId === undefined ? undefined : { kind: "app", appId };
  }

  private badHost(req: IncomingMessage): Refusal {
    return {
      ok: false,
      status: 403,
      error: `the Host ${JSON.stringify(headerOf(req, "host") ?? "")} is not this server's address: use the server at its own address or at 127.0.0.1:${this.port} (requests naming another host may come from a DNS-rebinding web page)`,
    };
  }

  private hostAllowed(req: IncomingMessage): boolean {
    const parsed = parseHost(headerOf(req, "host"));
    if (!parsed || parsed.port !== this.port) return false;
    const { name } = parsed;
    if (name === "localhost" || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return true;
    const bind = this.bindHost.toLowerCase().replace(/^\[|\]$/g, "");
    if (name === bind) return true;
    if (bind === "0.0.0.0" || bind === "::") return machineAddresses().has(name);
    return false;
  }
}

export function isLoopbackHost(host: string): boolean {
  return isLoopbackUrl(`http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}`);
}

/** Answers a refusal: JSON with an `error` that says why. */
export function answerRefusal(res: ServerResponse, decision: Refusal): void {
  res.writeHead(decision.status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify({ error: decision.error }));
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `name` (lowercase, IPv6 without brackets) and port of a Host header; undefined if malformed. */
function parseHost(host: string | undefined): { name: string; port: number } | undefined {
  if (!host) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(host.trim());
  if (!match) return undefined;
  return { name: match[1].toLowerCase().replace(/^\[|\]$/g, ""), port: match[2] === undefined ? 80 : Number(match[2]) };
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const url = new URL(origin);
    return url.protocol === "http:" && url.host === new URL(`http://${host}`).host;
  } catch {
    return false; // "null" (a sandboxed frame, a file) and anything unreadable
  }
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (headerOf(req, "cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** This machine's addresses: the server's own when it listens on every one. */
function machineAddresses(): Set<string> {
  const found = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) found.add(a.address.toLowerCase());
  return found;
}
