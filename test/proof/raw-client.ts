import WebSocket from "ws";
import { authHeaders } from "./server-auth";

/** A call's end as a raw client sees it. */
export type RawResult = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string } };

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * A bare WebSocket client of the stubrun protocol, with no SDK in between: the load test opens
 * one per simulated client, and the fuzz tests use it to send what no SDK would.
 */
export class RawClient {
  private nextId = 1;
  private readonly replies = new Map<number, Waiter>();
  private readonly results = new Map<string, (result: RawResult) => void>();
  private readonly early = new Map<string, RawResult>();
  private readonly heartbeat: NodeJS.Timeout;
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(data));
      } catch {
        return;
      }
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) this.onMessage(message as Record<string, unknown>);
    });
    ws.on("error", () => {}); // "close" follows
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: String(reason) };
      clearInterval(this.heartbeat);
      const error = new Error(`connection closed (${code}${String(reason) ? `: ${String(reason)}` : ""})`);
      for (const waiter of this.replies.values()) waiter.reject(error);
      this.replies.clear();
      for (const resolve of this.results.values()) resolve({ ok: false, error: { name: "ConnectionClosed", message: error.message } });
      this.results.clear();
    });
    this.heartbeat = setInterval(() => this.sendRaw(JSON.stringify({ type: "heartbeat" })), 2_000);
    this.heartbeat.unref();
  }

  /** Opens a connection to `wsUrl`, authenticated as the server of `home` wants. */
  static open(wsUrl: string, home: string, headers: Record<string, string> = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { ...authHeaders(home), ...headers }, maxPayload: 256 * 1024 * 1024 });
      ws.once("open", () => resolve(new RawClient(ws)));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends text or bytes as they are. */
  sendRaw(data: string | Buffer, binary = false): void {
    if (this.open) this.ws.send(data, { binary });
  }

  /** Sends a request with a fresh id; resolves with the reply's value, rejects with its error. */
  request(message: Record<string, unknown>, timeoutMs = 30_000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.open) return reject(new Error("connection is not open"));
      const timer = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error(`no reply to ${String(message.type)} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.replies.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.sendRaw(JSON.stringify({ ...message, id }));
    });
  }

  /** Whether the server answers a request on this connection (with a value or a refusal) within `timeoutMs`. */
  async ping(timeoutMs = 20_000): Promise<boolean> {
    return this.request({ type: "app.lookup", name: "-", function: "-" }, timeoutMs).then(
      () => true,
      (error: Error & { replied?: boolean }) => error.replied === true,
    );
  }

  /** The app id and function of a deployed app, via `app.lookup`. */
  async lookup(name: string, fn: string): Promise<string> {
    const value = (await this.request({ type: "app.lookup", name, function: fn })) as { appId: string };
    return value.appId;
  }

  /** Starts a call and waits for its result (plain JSON arguments pass through the codec as they are). */
  async call(appId: string, fn: string, args: unknown[]): Promise<RawResult> {
    const { callId } = (await this.request({ type: "call.start", appId, function: fn, args })) as { callId: string };
    const early = this.early.get(callId);
    if (early) {
      this.early.delete(callId);
      return early;
    }
    return new Promise((resolve) => this.results.set(callId, resolve));
  }

  close(): Promise<void> {
    clearInterval(this.heartbeat);
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close(1000, "done");
      setTimeout(() => this.ws.terminate(), 2_000).unref();
    });
  }

  private onMessage(message: Record<string, unknown>): void {
    if (message?.type === "reply" && typeof message.id === "number") {
      const waiter = this.replies.get(message.id);
      if (!waiter) return;
      this.replies.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else {
        const error = message.error as { name?: string; message?: string } | undefined;
        waiter.reject(Object.assign(new Error(error?.message ?? "refused"), { name: error?.name ?? "Error", replied: true }));
      }
    } else if (message?.type === "call.result" && typeof message.callId === "string") {
      const result: RawResult = message.ok
        ? { ok: true, value: message.value }
        : { ok: false, error: message.error as { name: string; message: string } };
      const resolve = this.results.get(message.callId);
      if (resolve) {
        this.results.delete(message.callId);
        resolve(result);
      } else this.early.set(message.callId, result);
    }
  }
}

/** The value at quantile `q` (0..1) of `sorted` (ascending). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}
