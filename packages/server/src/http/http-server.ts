import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { ServerLimits } from "../config/limits";

/** A request handler that may throw or return a promise that rejects: `createHttpServer` contains both. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * The server's HTTP listener, hardened: a request must arrive (headers and body) within
 * `limits.requestTimeoutMs`, at most `limits.maxConnections` connections are open at once, a
 * malformed request is answered 400 (not left hanging), and no error of `handler` (thrown or
 * rejected) can escape it: it is answered 500 with a short message, its stack goes to stderr.
 */
export function createHttpServer(limits: Pick<ServerLimits, "requestTimeoutMs" | "maxConnections">, handler: HttpHandler): http.Server {
  const server = http.createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      // Node refuses a headers timeout longer than the request timeout.
      headersTimeout: limits.requestTimeoutMs,
      // How often Node looks for requests past their timeout (its default, 30 s, would double a short one).
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(limits.requestTimeoutMs / 4))),
    },
    guarded(handler),
  );
  server.maxConnections = limits.maxConnections;
  server.on("clientError", answerClientError);
  return server;
}

/** `handler`, with whatever it throws or rejects with answered 500 (once) and logged. */
export function guarded(handler: HttpHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // A write after the client left must not become an unhandled "error" event.
    res.on("error", () => {});
    req.on("error", () => {});
    const fail = (error: unknown) => answerInternalError(req, res, error);
    try {
      const done = handler(req, res);
      if (done && typeof done.then === "function") done.then(undefined, fail);
    } catch (error) {
      fail(error);
    }
  };
}

/** 500 without the stack (that goes to the server's stderr, where its operator can read it). */
function answerInternalError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  try {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`stubrun server: error answering ${req.method} ${req.url}: ${detail}\n`);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ error: "internal error in the stubrun server; its log has the details" }));
  } catch {
    res.destroy();
  }
}

const CLIENT_ERROR_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout"],
};

/** A request Node could not parse (or that timed out) is answered, then its connection closed. */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  try {
    // Mid-answer (or gone), there is no one to tell.
    const answering = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage?.headersSent === true;
    if (error.code === "ECONNRESET" || !socket.writable || answering) {
      socket.destroy();
      return;
    }
    const [status, text] = CLIENT_ERROR_STATUS[error.code ?? ""] ?? [400, "Bad Request"];
    const body = `${JSON.stringify({ error: `${status} ${text}: ${status === 408 ? "the request did not arrive in time" : "the request is not valid HTTP"}` })}\n`;
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  } catch {
    socket.destroy();
  }
}
