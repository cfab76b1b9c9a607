import { DEFAULT_FUNCTION_OPTIONS } from "@stubrun/protocol";
import WebSocket from "ws";
import { ROOT } from "./harness";

/** A message as a raw client sees it. */
export type RawMessage = {
  type: string;
  id?: number | null;
  ok?: boolean;
  value?: unknown;
  error?: { name: string; message: string; stack?: string; code?: string };
  [key: string]: unknown;
};

/**
 * A WebSocket client that speaks the protocol by hand, so a test can send what no SDK would and
 * misbehave as a hostile or broken client does. It keeps every message it receives, in order.
 */
export class RawClient {
  private readonly received: RawMessage[] = [];
  private readonly waiters: (() => void)[] = [];
  /** Close code once the server closed the connection. */
  closeCode: number | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      // A frame holds one message or a JSON array of them (see packages/protocol/src/frames.ts).
      const frame = JSON.parse(String(data)) as RawMessage | RawMessage[];
      this.received.push(...(Array.isArray(frame) ? frame : [frame]));
      this.wake();
    });
    socket.on("close", (code) => {
      this.closeCode = code;
      this.wake();
    });
    socket.on("error", () => {}); // "close" follows
  }

  /** Connects to `server` with its token, as the SDK would (pass `headers: {}` to send none). */
  static open(server: { url: string; authHeaders: Record<string, string> }, headers = server.authHeaders): Promise<RawClient> {
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/ws`, { perMessageDeflate: false, maxPayload: 0, headers });
    return new Promise((resolve, reject) => {
      socket.once("open", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(data: unknown, options: { binary?: boolean } = {}): void {
    const payload = typeof data === "string" || Buffer.isBuffer(data) ? data : JSON.stringify(data);
    this.socket.send(payload, { binary: options.binary ?? false });
  }

  /** The first message, not yet taken, that matches; waits for it up to `timeoutMs`. */
  async take(match: (m: RawMessage) => boolean, what: string, timeoutMs = 30_000): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex(match);
      if (index >= 0) return this.received.splice(index, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== undefined) {
        throw new Error(`no ${what} (${this.closeCode === undefined ? `within ${timeoutMs} ms` : `connection closed with ${this.closeCode}`}); received: ${JSON.stringify(this.received).slice(0, 2000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The reply with `id` (or, for `null`, one without a readable id). */
  reply(id: number | null, timeoutMs?: number): Promise<RawMessage> {
    return this.take((m) => m.type === "reply" && m.id === id, `reply with id ${id}`, timeoutMs);
  }

  /** Sends a request and waits for its reply. */
  async request(message: { id: number; [key: string]: unknown }): Promise<RawMessage> {
    this.send(message);
    return this.reply(message.id);
  }

  /** The result of a call. */
  result(callId: string, timeoutMs?: number): Promise<RawMessage> {
    return this.take((m) => m.type === "call.result" && m.callId === callId, `result of ${callId}`, timeoutMs);
  }

  /** Stops reading from the socket, as a client that hangs or is suspended would. */
  pauseReading(): void {
    (this.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  /** Waits until the server closed the connection; returns the close code. */
  async closed(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (this.closeCode === undefined) throw new Error(`the connection was not closed within ${timeoutMs} ms`);
    return this.closeCode;
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.terminate();
    });
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** The methods of RAW_APP_CODE, each a function of the app. */
const RAW_METHODS = ["echo", "boom", "flood"];

/** An app in plain CommonJS, decorated by hand, so a raw client can upload it. */
export const RAW_APP_CODE = `"use strict";
const { Stub } = require("stubrun");
const stub = new Stub("raw-app");
class Raw {
  echo(value) {
    return value;
  }
  boom() {
    throw new Error("boom from the function");
  }
  async flood(mib) {
    const chunk = "x".repeat(64 * 1024 - 1) + "\\n";
    for (let i = 0; i < mib * 16; i++) {
      process.stdout.write(chunk);
      if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return mib;
  }
}
for (const name of ${JSON.stringify(RAW_METHODS)}) stub.function()(Raw.prototype, name, Object.getOwnPropertyDescriptor(Raw.prototype, name));
`;

/** The `app.create` request for RAW_APP_CODE. */
export function rawAppCreate(id: number) {
  const functions = RAW_METHODS.map((methodName) => ({
    name: `Raw.${methodName}`,
    className: "Raw",
    methodName,
    kind: "function",
    options: DEFAULT_FUNCTION_OPTIONS,
    params: [],
  }));
  return { type: "app.create", id, manifest: { name: "raw-app", entry: "main.js", projectRoot: ROOT, functions }, files: [{ path: "main.js", code: RAW_APP_CODE }] };
}

/** Creates RAW_APP_CODE's app and returns its id. */
export async function createRawApp(client: RawClient, id: number): Promise<string> {
  const created = await client.request(rawAppCreate(id));
  if (!created.ok) throw new Error(`app.create was refused: ${JSON.stringify(created.error)}`);
  return (created.value as { appId: string }).appId;
}

/**
 * Another user's ordinary program, run through the real bin while a raw client misbehaves: eight
 * calls of 150 ms, each printing a line; it prints their sum, 36.
 */
export function steadySource(stubName: string): string {
  return `import { Stub, fn } from "stubrun";
const stub = new Stub(${JSON.stringify(stubName)});
class Steady {
  @stub.function()
  async tick(i: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 150));
    console.log(\`tick \${i}\`);
    return i;
  }

  @stub.localEntrypoint()
  async main(count = 8) {
    let sum = 0;
    for (let i = 1; i <= count; i++) sum += await fn(this.tick).remote(i);
    return sum;
  }
}
`;
}
