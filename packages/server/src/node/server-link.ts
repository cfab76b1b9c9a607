import {
  FrameBatcher,
  fromWireError,
  MAX_MESSAGE_BYTES,
  systemWireError,
  UncarriableValueError,
  parseFrame,
  RefusedMessage,
  validateToNodeMessage,
  type FromNodeMessage,
  type NodeWorkerEnv,
  type ToNodeMessage,
} from "@stubrun/protocol";
import WebSocket from "ws";

/** How long a node waits before it tries the server again. */
const RECONNECT_MS = 2_000;
/** Messages kept while the server is unreachable; past this the oldest go (a call's output, mostly). */
const MAX_BACKLOG = 10_000;

/** What a ServerLink needs. */
export interface ServerLinkOptions {
  serverUrl: string;
  token: string;
  /** Sent first on every connection. */
  hello: () => FromNodeMessage;
  onMessage: (message: ToNodeMessage) => void;
  log: (line: string) => void;
}

/**
 * A worker node's WebSocket to the server (`/nodes`, full token): messages out in order, batched
 * per event-loop turn; kept while the server is unreachable and sent once it is back; reconnects
 * every 2 s, saying so once; `node.env` requests answered by `node.env-reply`.
 */
export class ServerLink {
  private ws?: WebSocket;
  private open = false;
  private closed = false;
  private backlog: string[] = [];
  private readonly outbox: FrameBatcher<FromNodeMessage>;
  private readonly envRequests = new Map<number, { resolve: (env: NodeWorkerEnv) => void; reject: (error: Error) => void }>();
  private requestSeq = 0;
  private unreachableSaid = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly options: ServerLinkOptions) {
    this.outbox = new FrameBatcher(
      (text) => this.write(text),
      (message, bytes) => this.oversized(message, bytes),
      (message, error) => this.oversized(message, undefined, error),
    );
  }

  start(): void {
    this.connect();
  }

  send(message: FromNodeMessage): void {
    this.outbox.push(message);
  }

  /** The server's part of a worker's environment: for a call this node runs, or for a function it keeps warm. */
  requestEnv(of: { callId: string } | { appId: string; functionName: string }): Promise<NodeWorkerEnv> {
    const id = ++this.requestSeq;
    return new Promise((resolve, reject) => {
      this.envRequests.set(id, { resolve, reject });
      this.send({ type: "node.env", id, ...of });
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.outbox.flush();
    this.ws?.close();
  }

  /**
   * A message the server would refuse whole (over MAX_MESSAGE_BYTES, which closes the socket) or
   * that JSON cannot write: a result becomes the call's error, saying why; output is dropped with
   * a line that says so. Nothing is lost without a word, and the socket stays up.
   */
  private oversized(message: FromNodeMessage, bytes?: number, error?: Error): void {
    const why = bytes !== undefined ? `${bytes} bytes, over the ${MAX_MESSAGE_BYTES} a message may carry` : `it cannot be sent: ${error?.message}`;
    if (message.type === "node.done") {
      const refused = new UncarriableValueError(`the call's result could not be sent from its worker node (${why}); return something smaller`);
      this.send({ type: "node.done", callId: message.callId, outcome: { state: "failed", error: systemWireError(refused) } });
    } else if (message.type === "node.output") {
      this.send({ type: "node.output", callId: message.callId, stream: "stderr", data: `stubrun: output of the call was dropped (${why})\n` });
    } else {
      this.options.log(`stubrun worker: a ${message.type} message was not sent (${why})`);
    }
  }

  private write(text: string): void {
    if (this.open && this.ws?.readyState === WebSocket.OPEN) return this.ws.send(text);
    this.backlog.push(text);
    if (this.backlog.length > MAX_BACKLOG) this.backlog.shift();
  }

  private connect(): void {
    if (this.closed) return;
    const url = new URL("/nodes", this.options.serverUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.token}` }, perMessageDeflate: false });
    this.ws = ws;
    ws.on("open", () => {
      this.open = true;
      this.unreachableSaid = false;
      this.options.log(`stubrun worker: connected to the server at ${this.options.serverUrl}`);
      ws.send(JSON.stringify(this.options.hello()));
      const backlog = this.backlog;
      this.backlog = [];
      for (const text of backlog) ws.send(text);
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        this.unreachable(`it answered ${res.statusCode}: ${body.trim()}`);
        ws.terminate();
      });
    });
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      try {
        for (const item of parseFrame(data.toString())) if (!(item instanceof RefusedMessage)) this.receive(validateToNodeMessage(item));
      } catch (error) {
        this.options.log(`stubrun worker: a message from the server was dropped: ${(error as Error).message}`);
      }
    });
    ws.on("error", (error) => this.unreachable(error.message));
    ws.on("close", () => {
      const wasOpen = this.open;
      this.open = false;
      for (const request of this.envRequests.values()) request.reject(new Error("the connection to the server was lost"));
      this.envRequests.clear();
      if (this.closed) return;
      if (wasOpen) this.options.log(`stubrun worker: lost the connection to the server at ${this.options.serverUrl}; reconnecting`);
      this.retryTimer = setTimeout(() => this.connect(), RECONNECT_MS);
    });
  }

  private unreachable(why: string): void {
    if (this.unreachableSaid || this.closed) return;
    this.unreachableSaid = true;
    this.options.log(`stubrun worker: cannot reach the server at ${this.options.serverUrl} (${why}); retrying every ${RECONNECT_MS / 1000} s`);
  }

  private receive(message: ToNodeMessage): void {
    if (message.type === "node.env-reply") {
      const request = this.envRequests.get(message.id);
      this.envRequests.delete(message.id);
      if (!request) return;
      if (message.ok) request.resolve(message.value);
      else request.reject(fromWireError(message.error));
      return;
    }
    this.options.onMessage(message);
  }
}
