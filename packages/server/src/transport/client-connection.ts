import {
  assertNever,
  FrameBatcher,
  parseFrame,
  validateClientMessage,
  ProtocolError,
  RefusedMessage,
  RequestRefusedError,
  requestIdOf,
  StubrunError,
  toWireError,
  type CallStartRequest,
  type ClientMessage,
  type Encoded,
  type ServerMessage,
  type WireError,
} from "@stubrun/protocol";
import WebSocket from "ws";
import type { AppManager, AppOwner, CallListener } from "../apps/app-manager";
import type { Deployer } from "../apps/deployer";
import type { AppResolver } from "../apps/app-resolver";
import { lookupFunction } from "../apps/lookup";
import type { AppReloader } from "../apps/app-reloader";
import type { ImageBuilder } from "../images/image-builder";
import type { SharedObjects } from "../objects/shared-objects";
import { FULL_ACCESS, type ClientScope } from "./client-scope";
import type { ServerLimits } from "../config/limits";

/**
 * How long the reply to a `call.start` (the call's id) may wait for the call's first event, so
 * that a short call's reply and result reach the client in one frame: one write and one wakeup
 * of the client fewer per `.remote()`. A longer call's `spawn()` returns this much later.
 */
export const CALL_REPLY_HOLD_MS = 1;

/** The server's objects that serve a client's requests. */
export interface ClientServices {
  manager: AppManager;
  deployer: Deployer;
  reloader: AppReloader;
  resolver: AppResolver;
  images: ImageBuilder;
  objects: SharedObjects;
}

/** What a client connection needs to know of the server. */
export interface ClientConnectionOptions {
  limits: Pick<ServerLimits, "maxMessageBytes" | "maxValueDepth" | "maxBufferedBytesPerClient">;
  /** Writes one line to the server's log. */
  log(line: string): void;
}

/**
 * One client's WebSocket: every inbound message is validated, every request gets exactly one
 * reply, and a bad message only ever gets an error reply: nothing a client sends can throw past
 * `receive`. Calls this client started report back here. A client that stops reading what is sent
 * to it is given up before the server holds more than `maxBufferedBytesPerClient` for it.
 */
export class ClientConnection implements CallListener, AppOwner {
  lastSeen = Date.now();
  private readonly outbox: FrameBatcher<ServerMessage>;
  private readonly peer: string;
  /** Replies to `call.start` not sent yet (call id -> request id): each goes before its call's first event, or when `heldTimer` fires. */
  private readonly heldReplies = new Map<string, number>();
  private heldTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly services: ClientServices,
    private readonly options: ClientConnectionOptions,
    /** What this connection's credential allows (a worker's: only its own app). */
    private readonly scope: ClientScope = FULL_ACCESS,
  ) {
    this.outbox = new FrameBatcher(
      (text) => this.write(text),
      undefined,
      (message, error) => this.unsendable(message, error),
    );
    const tcp = (socket as unknown as { _socket?: { remoteAddress?: string; remotePort?: number } })._socket;
    this.peer = tcp?.remoteAddress ? `${tcp.remoteAddress}:${tcp.remotePort}` : "a client";
    socket.on("message", (data, isBinary) => this.receive(data as Buffer, isBinary));
  }

  output(callId: string, stream: "stdout" | "stderr", data: string): void {
    this.releaseReply(callId);
    this.send({ type: "call.output", callId, stream, data });
  }

  appOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void {
    this.send({ type: "app.output", appId, functionName, stream, data });
  }

  yield(callId: string, value: Encoded): void {
    this.releaseReply(callId);
    this.send({ type: "call.yield", callId, value });
  }

  result(callId: string, outcome: Parameters<CallListener["result"]>[1]): void {
    this.releaseReply(callId);
    if (outcome.state === "succeeded") this.send({ type: "call.result", callId, ok: true, value: outcome.value });
    else this.send({ type: "call.result", callId, ok: false, error: outcome.error });
  }

  /** One frame from the socket. The boundary: whatever goes wrong in here is answered, never thrown. */
  private receive(data: Buffer, isBinary: boolean): void {
    this.lastSeen = Date.now();
    let items: unknown[] = [];
    try {
      items = this.messagesOf(data, isBinary);
    } catch (error) {
      this.refuse(null, error, "a frame");
    }
    // Each message on its own: one that fails in an unforeseen way is answered, and the rest of its frame still served.
    for (const item of items) {
      try {
        this.receiveMessage(item);
      } catch (error) {
        this.refuse(requestIdOf(item), error);
      }
    }
  }

  /** The messages of a frame; a frame that cannot be read is answered here and yields none. */
  private messagesOf(data: Buffer, isBinary: boolean): unknown[] {
    const { maxMessageBytes, maxValueDepth } = this.options.limits;
    try {
      if (data.length > maxMessageBytes) throw new ProtocolError(`message of ${data.length} bytes is over the limit of ${maxMessageBytes} bytes`);
      const items = parseFrame(data, { maxValueDepth });
      if (!isBinary) return items;
      // Binary frames are refused, each request with its id when it can be read.
      const binary = new ProtocolError("binary frames are not part of the protocol; send JSON text");
      for (const item of items) this.refuse(item instanceof RefusedMessage ? item.id : requestIdOf(item), binary);
      return [];
    } catch (error) {
      this.refuse(null, isBinary ? new ProtocolError("binary frames are not part of the protocol; send JSON text") : error);
      return [];
    }
  }

  private receiveMessage(item: unknown): void {
    if (item instanceof RefusedMessage) return this.refuse(item.id, item.error);
    let message: ClientMessage;
    try {
      message = validateClientMessage(item, { maxValueDepth: this.options.limits.maxValueDepth });
    } catch (error) {
      return this.refuse(requestIdOf(item), error);
    }
    // The most frequent request is served without a promise of its own: a `.map()` sends thousands.
    if (message.type === "call.start") {
      try {
        this.scope.check(message);
        this.startCall(message);
      } catch (error) {
        this.refuse(message.id, error, message.type);
      }
      return;
    }
    this.handle(message).catch((error) => this.refuse("id" in message ? message.id : null, error, message.type, "id" in message));
  }

  private async handle(message: ClientMessage): Promise<void> {
    this.scope.check(message);
    const { manager, deployer, reloader, resolver, images, objects } = this.services;
    switch (message.type) {
      case "heartbeat":
        return;
      case "app.create": {
        const app = manager.create(message.manifest, message.files, { detach: message.detach === true, owner: this, env: this.scope.env(message.env) });
        return this.reply(message.id, { appId: app.id, state: app.state });
      }
      case "app.deploy":
        return this.reply(message.id, deployer.deploy(message.manifest, message.files, this.scope.env(message.env)));
      case "app.update":
        if (!manager.isOwnedBy(message.appId, this)) throw new RequestRefusedError(`app ${message.appId} is not this client's to update`);
        return this.reply(message.id, reloader.reload(message.appId, message.manifest, message.files));
      case "app.lookup":
        return this.reply(message.id, lookupFunction(resolver, manager, message.name, message.function, message.version, this.scope.env(message.env)));
      case "call.start":
        return this.startCall(message);
      case "call.cancel":
        return this.reply(message.id, { cancelled: manager.cancelCall(message.callId) });
      case "app.stop":
        return this.reply(message.id, { stopped: await manager.stop(message.appId) });
      case "image.build": {
        const { id } = message;
        const result = await images.build(message.image, (image, entry) => this.send({ type: "image.log", id, image, ...entry }));
        return this.reply(id, result);
      }
      case "dict":
        return this.reply(message.id, objects.dict(message, this.scope.env(message.env)));
      case "queue":
        // A get may wait for a value: other requests of this connection go on meanwhile.
        return this.reply(message.id, await objects.queue(message, this.scope.env(message.env), this));
      case "volume":
        return this.reply(message.id, objects.volume(message, this.scope.env(message.env)));
      default:
        assertNever(message, "client message");
    }
  }

  private startCall(message: CallStartRequest): void {
    const callId = this.services.manager.startCall(message.appId, message.function, message.args, this, message.version, message.stream === true, message.params);
    this.heldReplies.set(callId, message.id);
    this.heldTimer ??= setTimeout(() => this.releaseReplies(), CALL_REPLY_HOLD_MS);
  }

  /** Sends the held reply of a call, before anything else of it. */
  private releaseReply(callId: string): void {
    const id = this.heldReplies.get(callId);
    if (id === undefined) return;
    this.heldReplies.delete(callId);
    this.reply(id, { callId });
  }

  private releaseReplies(): void {
    this.heldTimer = undefined;
    for (const [callId, id] of this.heldReplies) this.reply(id, { callId });
    this.heldReplies.clear();
  }

  private reply(id: number, value: unknown): void {
    this.send({ type: "reply", id, ok: true, value });
  }

  /**
   * Answers a request with an error. Errors the server raises carry no stack (it would show the
   * server's files); one that is not stubrun's own is a bug here, so its stack goes to the log.
   */
  private refuse(id: number | null, error: unknown, during = "a message", answer = true): void {
    if (!(error instanceof StubrunError)) {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.options.log(`stubrun server: internal error handling ${during} from ${this.peer}: ${detail}`);
    }
    if (answer) this.send({ type: "reply", id, ok: false, error: serverWireError(error) });
  }

  private send(message: ServerMessage): void {
    this.outbox.push(message);
  }

  private write(text: string): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    try {
      this.socket.send(text);
    } catch (error) {
      this.options.log(`stubrun server: could not send to ${this.peer}: ${(error as Error).message}`);
      return;
    }
    // Unsent bytes stay in this process: a client that stops reading must not make it grow without end.
    const { maxBufferedBytesPerClient } = this.options.limits;
    if (this.socket.bufferedAmount > maxBufferedBytesPerClient) {
      this.options.log(
        `stubrun server: gave up client ${this.peer}: it left ${this.socket.bufferedAmount} bytes unread, ` +
          `over maxBufferedBytesPerClient (${maxBufferedBytesPerClient}); its ephemeral apps stop`,
      );
      this.socket.terminate();
    }
  }

  /** A message JSON could not encode: its call or request still ends, with the reason. */
  private unsendable(message: ServerMessage, error: Error): void {
    const reason = new ProtocolError(`the server could not send this ${message.type}: ${error.message}`);
    this.options.log(`stubrun server: ${reason.message} (to ${this.peer})`);
    if (message.type === "call.result") this.send({ type: "call.result", callId: message.callId, ok: false, error: serverWireError(reason) });
    else if (message.type === "reply" && message.ok) this.send({ type: "reply", id: message.id, ok: false, error: serverWireError(reason) });
  }
}

/**
 * An error the server raised, as a reply carries it: name, message and code, without the
 * server's stack or fields (a file system error's would show the server's paths).
 */
function serverWireError(error: unknown): WireError {
  const { stack: _stack, fields: _fields, ...wire } = toWireError(error);
  return wire;
}
