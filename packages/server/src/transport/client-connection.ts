import {
  assertNever,
  FrameBatcher,
  MAX_MESSAGE_BYTES,
  parseFrame,
  validateClientMessage,
  ProtocolError,
  RequestRefusedError,
  requestIdOf,
  toWireError,
  type ClientMessage,
  type ServerMessage,
} from "@stubrun/protocol";
import WebSocket from "ws";
import type { AppManager, AppOwner, CallListener } from "../apps/app-manager";
import type { Deployer } from "../apps/deployer";
import { FULL_ACCESS, type ClientScope } from "./client-scope";

/**
 * One client's WebSocket: every inbound message is validated, every request gets exactly one
 * reply, and a bad message only ever gets an error reply. Calls this client started report back here.
 */
export class ClientConnection implements CallListener, AppOwner {
  lastSeen = Date.now();
  private readonly outbox: FrameBatcher<ServerMessage>;

  constructor(
    private readonly socket: WebSocket,
    private readonly apps: AppManager,
    private readonly deployer: Deployer,
    /** What this connection's credential allows (a worker's: only its own app). */
    private readonly scope: ClientScope = FULL_ACCESS,
  ) {
    this.outbox = new FrameBatcher((text) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    });
    socket.on("message", (data, isBinary) => this.receive(data as Buffer, isBinary));
  }

  output(callId: string, stream: "stdout" | "stderr", data: string): void {
    this.send({ type: "call.output", callId, stream, data });
  }

  appOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void {
    this.send({ type: "app.output", appId, functionName, stream, data });
  }

  result(callId: string, outcome: Parameters<CallListener["result"]>[1]): void {
    if (outcome.state === "succeeded") this.send({ type: "call.result", callId, ok: true, value: outcome.value });
    else this.send({ type: "call.result", callId, ok: false, error: outcome.error });
  }

  private receive(data: Buffer, isBinary: boolean): void {
    this.lastSeen = Date.now();
    let items: unknown[];
    try {
      if (isBinary) throw new ProtocolError("binary frames are not part of the protocol; send JSON text");
      if (data.length > MAX_MESSAGE_BYTES) {
        throw new ProtocolError(`message of ${data.length} bytes is over the limit of ${MAX_MESSAGE_BYTES} bytes`);
      }
      items = parseFrame(data.toString("utf8"));
    } catch (error) {
      this.send({ type: "reply", id: requestIdOfRaw(data), ok: false, error: toWireError(error) });
      return;
    }
    for (const item of items) this.receiveMessage(item);
  }

  private receiveMessage(item: unknown): void {
    let message: ClientMessage;
    try {
      message = validateClientMessage(item);
    } catch (error) {
      this.send({ type: "reply", id: requestIdOf(item), ok: false, error: toWireError(error) });
      return;
    }
    this.handle(message).catch((error) => {
      if ("id" in message) this.send({ type: "reply", id: message.id, ok: false, error: toWireError(error) });
    });
  }

  private async handle(message: ClientMessage): Promise<void> {
    this.scope.check(message);
    switch (message.type) {
      case "heartbeat":
        return;
      case "app.create": {
        const app = this.apps.create(message.manifest, message.files, { detach: message.detach === true, owner: this });
        return this.reply(message.id, { appId: app.id, state: app.state });
      }
      case "app.deploy":
        return this.reply(message.id, this.deployer.deploy(message.manifest, message.files));
      case "app.update":
        if (!this.apps.isOwnedBy(message.appId, this)) throw new RequestRefusedError(`app ${message.appId} is not this client's to update`);
        return this.reply(message.id, this.deployer.reload(message.appId, message.manifest, message.files));
      case "app.lookup":
        return this.reply(message.id, this.lookup(message.name, message.function, message.version));
      case "call.start": {
        const callId = this.apps.startCall(message.appId, message.function, message.args, this, message.version);
        return this.reply(message.id, { callId });
      }
      case "call.cancel":
        return this.reply(message.id, { cancelled: this.apps.cancelCall(message.callId) });
      case "app.stop":
        return this.reply(message.id, { stopped: await this.apps.stop(message.appId) });
      default:
        assertNever(message, "client message");
    }
  }

  /** A function of a deployed app, for `lookup()` in any program. */
  private lookup(name: string, functionName: string, version: number | undefined): unknown {
    const record = this.deployer.findDeployed(name);
    const app = this.apps.runningApp(record.id);
    const fn = this.apps.functionOf(app, functionName, version);
    return { appId: record.id, version: version ?? app.record.version, function: fn };
  }

  private reply(id: number, value: unknown): void {
    this.send({ type: "reply", id, ok: true, value });
  }

  private send(message: ServerMessage): void {
    this.outbox.push(message);
  }
}

/** The id of a request that failed validation, if one can be read from it. */
function requestIdOfRaw(data: Buffer): number | null {
  if (data.length > MAX_MESSAGE_BYTES) return null;
  try {
    return requestIdOf(JSON.parse(data.toString("utf8")));
  } catch {
    return null;
  }
}
