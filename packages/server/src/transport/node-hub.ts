import {
  FrameBatcher,
  parseFrame,
  RefusedMessage,
  validateNodeMessage,
  type FromNodeMessage,
  type NodeSummary,
  type ToNodeMessage,
} from "@stubrun/protocol";
import type { RawData, WebSocket } from "ws";

/** What the hub reports to the dispatcher. */
export interface NodeEvents {
  /** A node said hello: it should be told which queues exist. */
  nodeJoined(node: ConnectedNode): void;
  /** A message from a node that said hello. */
  nodeMessage(node: ConnectedNode, message: Exclude<FromNodeMessage, { type: "node.hello" }>): void;
  nodeLeft(node: ConnectedNode): void;
}

/** One node's socket: messages out batched per event-loop turn, in order. */
export class ConnectedNode {
  nodeId = "";
  slots = 0;
  readonly running = new Set<string>();
  readonly connectedAt = Date.now();
  private readonly outbox: FrameBatcher<ToNodeMessage>;

  constructor(private readonly ws: WebSocket) {
    this.outbox = new FrameBatcher((text) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    });
  }

  send(message: ToNodeMessage): void {
    this.outbox.push(message);
  }

  close(): void {
    this.ws.terminate();
  }

  /** As `GET /api/nodes` (`stubrun server status`) shows it. */
  summary(): NodeSummary {
    return { nodeId: this.nodeId, slots: this.slots, running: [...this.running], connectedAt: new Date(this.connectedAt).toISOString() };
  }
}

/**
 * The worker nodes connected on `/nodes` (with the full token). A node counts once it said
 * `node.hello`; a malformed message is logged and dropped (a node is a trusted peer, but a bug
 * in one must not crash the server).
 */
export class NodeHub {
  private readonly nodes = new Set<ConnectedNode>();
  private events?: NodeEvents;

  constructor(private readonly log: (line: string) => void) {}

  /** Points the hub at the dispatcher that handles node messages (set once, before nodes connect). */
  attach(events: NodeEvents): void {
    this.events = events;
  }

  accept(ws: WebSocket): void {
    const node = new ConnectedNode(ws);
    ws.on("error", () => {}); // "close" follows
    ws.on("message", (data: RawData, isBinary: boolean) => {
      try {
        const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : data.toString();
        for (const item of parseFrame(isBinary ? "" : text)) {
          if (item instanceof RefusedMessage) continue;
          this.receive(node, validateNodeMessage(item));
        }
      } catch (error) {
        this.log(`stubrun server: a message from worker node ${node.nodeId || "(before hello)"} was dropped: ${(error as Error).message}`);
      }
    });
    ws.on("close", () => {
      if (!this.nodes.delete(node)) return;
      this.log(`stubrun server: worker node ${node.nodeId} disconnected`);
      this.events?.nodeLeft(node);
    });
  }

  /** Nodes that said hello. */
  list(): ConnectedNode[] {
    return [...this.nodes];
  }

  get size(): number {
    return this.nodes.size;
  }

  broadcast(message: ToNodeMessage): void {
    for (const node of this.nodes) node.send(message);
  }

  close(): void {
    for (const node of this.nodes) node.close();
    this.nodes.clear();
  }

  private receive(node: ConnectedNode, message: FromNodeMessage): void {
    if (message.type === "node.hello") {
      node.nodeId = message.nodeId;
      node.slots = message.slots;
      if (!this.nodes.has(node)) {
        this.nodes.add(node);
        this.log(`stubrun server: worker node ${node.nodeId} connected (${node.slots} slot${node.slots === 1 ? "" : "s"})`);
      }
      this.events?.nodeJoined(node);
      return;
    }
    if (!this.nodes.has(node)) throw new Error(`${message.type} before node.hello`);
    this.events?.nodeMessage(node, message);
  }
}
