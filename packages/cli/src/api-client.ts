import { clientToken, envFromProcess, isLoopbackUrl, logFilePath, probeServer, RequestRefusedError, ServerUnavailableError, tokenRefusedMessage, UsageError, type ClientToken } from "@stubrun/protocol";
import type { Status } from "./status";

/**
 * The server's HTTP API as the `app` commands use it. Like `stubrun FILE`, it starts the local
 * daemon when nothing answers at a loopback server URL.
 */
export class ApiClient {
  constructor(
    readonly url: string,
    private readonly home: string,
    private readonly status: Status,
  ) {}

  async get<T>(path: string): Promise<T> {
    return this.json<T>(await this.fetch(path));
  }

  /** POSTs `body` as JSON when given. */
  async post<T>(path: string, body?: unknown): Promise<T> {
    const init: RequestInit = body === undefined ? { method: "POST" } : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } };
    return this.json<T>(await this.fetch(path, init));
  }

  /** PUTs a body that is read as it is sent (an upload's bytes). */
  async put<T>(path: string, body: AsyncIterable<Uint8Array>, length: number): Promise<T> {
    const init = { method: "PUT", body, duplex: "half", headers: { "content-type": "application/octet-stream", "content-length": String(length) } };
    return this.json<T>(await this.fetch(path, init as unknown as RequestInit));
  }

  /** GETs a body to read as it comes (a blob's bytes). */
  async download(path: string): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.fetch(path);
    if (!res.ok || !res.body) return this.json<never>(res);
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }

  async delete<T>(path: string): Promise<T> {
    return this.json<T>(await this.fetch(path, { method: "DELETE" }));
  }

  /**
   * Reads a server-sent event stream; resolves when the server ends it. eventsource-parser reads
   * the format whole: CRLF and CR line ends, `data:` over several lines, comments. An event
   * without a name is a "message", as in the browser's EventSource.
   */
  async events(path: string, onEvent: (event: string, data: unknown) => void): Promise<void> {
    const res = await this.fetch(path);
    if (!res.ok || !res.body) return void (await this.json(res));
    const { createParser } = require("eventsource-parser") as typeof import("eventsource-parser");
    const parser = createParser({ onEvent: (message) => onEvent(message.event ?? "message", JSON.parse(message.data)) });
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const decoded = decoder.decode(chunk, { stream: true });
      if (decoded) parser.feed((text = decoded));
    }
    // A CR that ends the stream ends its line: the parser waits to see whether an LF follows.
    if (text.endsWith("\r")) parser.feed("\n");
  }

  /** What was sent: read after the server is sure to run, since a daemon started now writes its token file. */
  private credential: ClientToken | undefined;

  private async fetch(path: string, init?: RequestInit): Promise<Response> {
    await this.ensureServer();
    this.credential = clientToken(this.url);
    const headers: Record<string, string> = this.credential ? { authorization: `Bearer ${this.credential.token}` } : {};
    // Every request names the environment it works in (`--env`, STUBRUN_ENV, else "main").
    const withEnv = `${path}${path.includes("?") ? "&" : "?"}env=${encodeURIComponent(envFromProcess())}`;
    return fetch(`${this.url}${withEnv}`, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...headers } });
  }

  private async json<T>(res: Response): Promise<T> {
    if (res.status === 401) throw new ServerUnavailableError(tokenRefusedMessage(this.url, this.credential));
    const body = (await res.json()) as T & { error?: string };
    if (res.status === 404) throw new UsageError(body.error ?? "not found");
    if (!res.ok) throw new RequestRefusedError(body.error ?? `the server answered HTTP ${res.status}`);
    return body;
  }

  private ensured = false;

  private async ensureServer(): Promise<void> {
    if (this.ensured) return;
    const found = await probeServer(this.url);
    if (found === "stubrun") {
      this.ensured = true;
      return;
    }
    if (found === "other") {
      throw new ServerUnavailableError(`something other than a stubrun server answers at ${this.url}: point STUBRUN_SERVER_URL at a stubrun server, or free that port`);
    }
    if (!isLoopbackUrl(this.url)) {
      throw new ServerUnavailableError(`cannot reach the stubrun server at ${this.url}. Check that it is running and STUBRUN_SERVER_URL is right`);
    }
    this.status.line(`Starting a local stubrun server on ${this.url} (log: ${logFilePath(this.home)})`);
    await (require("@stubrun/daemon") as typeof import("@stubrun/daemon")).startDaemonAt(this.home, this.url);
    this.ensured = true;
  }
}
