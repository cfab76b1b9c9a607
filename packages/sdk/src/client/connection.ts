import {
  FrameBatcher,
  fromWireError,
  parseFrame,
  HEARTBEAT_INTERVAL_MS,
  MAX_MESSAGE_BYTES,
  ServerUnavailableError,
  tokenRefusedMessage,
  UncarriableValueError,
  type ClientToken,
  type CallResult,
  type CallStartRequest,
  type ClassParamValues,
  type ClientMessage,
  type Encoded,
  type ImageBuildResult,
  type ImageLog,
  type ImageManifest,
  type ServerMessage,
} from "@stubrun/protocol";
import WebSocket from "ws";

/** How long opening a connection may take (TCP connect and WebSocket handshake) before it fails. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Receives the events of one call. */
export interface CallHandlers {
  onOutput(stream: "stdout" | "stderr", data: string): void;
  /** A value the call's generator function yielded (calls started with `stream`). */
  onYield?(value: Encoded): void;
  onResult(result: CallResult): void;
}

type Request = ClientMessage extends infer M ? (M extends { id: number } ? Omit<M, "id"> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Runs synchronously with the reply, before any later message is handled. */
  onValue?(value: unknown): void;
  /** The request's `image.log` events, while it waits. */
  onImageLog?(log: ImageLog): void;
}

/**
 * A client's WebSocket connection to the server: requests matched to replies by id, call events
 * routed to their handlers, and a heartbeat so the server knows the client is alive.
 */
export class ServerConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly calls = new Map<string, CallHandlers>();
  private readonly heartbeat: NodeJS.Timeout;
  private closedError: Error | undefined;
  private readonly outbox: FrameBatcher<ClientMessage>;
  /** When set, the socket does not keep the process alive while nothing is pending (for lookup()). */
  private unrefWhenIdle = false;
  private readonly closeListeners: ((error: Error) => void)[] = [];

  private constructor(
    readonly url: string,
    private readonly socket: WebSocket,
  ) {
    this.outbox = new FrameBatcher(
      (text) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(text);
      },
      (message, bytes) => this.refuseOversized(message, bytes),
    );
    socket.on("message", (data) => this.handleFrame(String(data)));
    socket.on("close", (code, reason) => this.fail(closeError(url, code, String(reason))));
    socket.on("error", () => {}); // "close" follows and says what happened.
    this.heartbeat = setInterval(() => this.send({ type: "heartbeat" }), HEARTBEAT_INTERVAL_MS).unref();
  }

  /**
   * Opens a connection to the server at `url` (http://host:port), sending `credential` (see
   * `clientToken`: `STUBRUN_TOKEN`, or the local server's token file) as `Authorization: Bearer`.
   */
  static open(url: string, options: { credential?: ClientToken } = {}): Promise<ServerConnection> {
    const wsUrl = url.replace(/^http/, "ws") + "/ws";
    return new Promise((resolve, reject) => {
      const { credential } = options;
      const headers: Record<string, string> = credential ? { authorization: `Bearer ${credential.token}` } : {};
      const socket = new WebSocket(wsUrl, { headers, perMessageDeflate: false, handshakeTimeout: CONNECT_TIMEOUT_MS });
      socket.once("open", () => {
        socket.removeAllListeners("error");
        resolve(new ServerConnection(url, socket));
      });
      socket.once("unexpected-response", (_req, res) => {
        socket.on("error", () => {}); // terminate() below reports the aborted handshake as an error too
        if (res.statusCode === 401) {
          reject(new ServerUnavailableError(tokenRefusedMessage(url, credential)));
          socket.terminate();
          return;
        }
        // A stubrun server says why it refused (a Host or Origin it does not accept) in a JSON body.
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body = (body + chunk).slice(0, 4096)));
        res.on("error", () => {});
        res.once("end", () => {
          let why: string | undefined;
          try {
            why = (JSON.parse(body) as { error?: unknown }).error as string | undefined;
          } catch {
            why = undefined;
          }
          if (res.statusCode === 403 && typeof why === "string") reject(new ServerUnavailableError(`the server at ${url} refused the connection: ${why}`));
          else reject(new ServerUnavailableError(`something other than a stubrun server answers at ${url} (HTTP ${res.statusCode}): point STUBRUN_SERVER_URL at a stubrun server, or free that port`));
          socket.terminate();
        });
      });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        reject(new ServerUnavailableError(`cannot reach the stubrun server at ${url} (${error.code ?? error.message})`, { cause: error }));
      });
    });
  }

  /** Sends a request and resolves with the reply's value, or rejects with its error. */
  request<T = unknown>(message: Request, onValue?: (value: unknown) => void): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onValue });
      this.updateRef();
      this.send({ ...message, id } as ClientMessage);
    });
  }

  /**
   * Builds an image where the workers run (or finds it built): `onLog` gets its build log as it
   * is written; resolves once it is built, rejects with the log's tail when the build fails.
   */
  buildImage(image: ImageManifest, onLog: (log: ImageLog) => void): Promise<ImageBuildResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<ImageBuildResult>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onImageLog: onLog });
      this.updateRef();
      this.send({ type: "image.build", id, image });
    });
  }

  /** Starts a call; its handlers are registered before any of its events can arrive. */
  startCall(appId: string, functionName: string, args: Encoded[], handlers: CallHandlers, version?: number, params?: ClassParamValues): Promise<string> {
    return new Promise((resolve, reject) => this.sendCall(appId, functionName, args, handlers, { started: resolve, refused: reject }, version, params));
  }

  /**
   * `startCall` without a promise of its own: a `.map()` starts thousands of calls, and each
   * promise (with what waits on it) is work for the client and its garbage collector. `started`
   * gets the call's id once the server accepted it, `refused` the error otherwise.
   */
  sendCall(
    appId: string,
    functionName: string,
    args: Encoded[],
    handlers: CallHandlers,
    reply: { started(callId: string): void; refused(error: Error): void },
    version?: number,
    params?: ClassParamValues,
  ): void {
    if (this.closedError) return reply.refused(this.closedError);
    const id = this.nextId++;
    this.pending.set(id, {
      resolve: (value) => reply.started((value as { callId: string }).callId),
      reject: reply.refused,
      onValue: (value) => this.calls.set((value as { callId: string }).callId, handlers),
    });
    this.updateRef();
    const message: CallStartRequest = { type: "call.start", id, appId, function: functionName, args, version };
    if (handlers.onYield) message.stream = true;
    if (params && Object.keys(params).length > 0) message.params = params;
    this.send(message);
  }

  /** Lets the process exit while no request or call is pending on this connection. */
  releaseWhenIdle(): void {
    this.unrefWhenIdle = true;
    this.updateRef();
  }

  private updateRef(): void {
    if (!this.unrefWhenIdle) return;
    const socket = (this.socket as unknown as { _socket?: { ref(): void; unref(): void } })._socket;
    if (this.pending.size + this.calls.size === 0) socket?.unref();
    else socket?.ref();
  }

  /** Called once if the connection is lost or closed. */
  onClose(listener: (error: Error) => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.outbox.flush();
    this.socket.close(1000, "client done");
  }

  private send(message: ClientMessage): void {
    this.outbox.push(message);
  }

  /** A request the server would refuse unread (so without its id): it fails here instead of waiting forever. */
  private refuseOversized(message: ClientMessage, bytes: number): void {
    if (!("id" in message)) return;
    const pending = this.pending.get(message.id);
    this.pending.delete(message.id);
    const what =
      message.type === "call.start"
        ? `the arguments of ${message.function} are ${bytes} bytes as sent, over the limit of ${MAX_MESSAGE_BYTES} bytes per message; pass less data per call`
        : `the ${message.type} request is ${bytes} bytes, over the limit of ${MAX_MESSAGE_BYTES} bytes per message`;
    const error = new UncarriableValueError(what);
    error.stack = `${error.name}: ${error.message}`; // thrown from a batch flush: no frame here would help
    pending?.reject(error);
  }

  private handleFrame(text: string): void {
    let messages: unknown[];
    try {
      messages = parseFrame(text);
    } catch {
      return; // the server only sends JSON; a broken frame is dropped rather than crashing the client.
    }
    for (const message of messages) this.handle(message as ServerMessage);
  }

  private handle(message: ServerMessage): void {
    switch (message?.type) {
      case "reply": {
        const pending = message.id === null ? undefined : this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id as number);
        if (message.ok) {
          pending.onValue?.(message.value);
          pending.resolve(message.value);
        } else {
          pending.reject(fromWireError(message.error));
        }
        this.updateRef(); // after onValue, which may have registered a call
        return;
      }
      case "call.output":
        this.calls.get(message.callId)?.onOutput(message.stream, message.data);
        return;
      case "call.yield":
        this.calls.get(message.callId)?.onYield?.(message.value);
        return;
      case "app.output":
        (message.stream === "stdout" ? process.stdout : process.stderr).write(message.data);
        return;
      case "image.log":
        this.pending.get(message.id)?.onImageLog?.(message);
        return;
      case "call.result": {
        const handlers = this.calls.get(message.callId);
        this.calls.delete(message.callId);
        this.updateRef();
        handlers?.onResult(message);
        return;
      }
    }
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    clearInterval(this.heartbeat);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    for (const [callId, handlers] of this.calls) {
      handlers.onResult({ type: "call.result", callId, ok: false, error: { name: error.name, message: error.message, code: "SERVER_UNAVAILABLE" } });
    }
    this.calls.clear();
    for (const listener of this.closeListeners) listener(error);
  }
}

function closeError(url: string, code: number, reason: string): Error {
  if (code === 1000) return new ServerUnavailableError(`the connection to the server at ${url} was closed`);
  if (code === 1009) {
    return new ServerUnavailableError(
      `the server at ${url} closed the connection: a message was over its size limit (maxMessageBytes in the server's config.json); send less data at once`,
    );
  }
  return new ServerUnavailableError(`lost the connection to the server at ${url} (code ${code}${reason ? `: ${reason}` : ""})`);
}
