import { MAX_MESSAGE_BYTES } from "./defaults";
import { ProtocolError } from "./errors";

/**
 * Framing on the WebSocket: a text frame holds one JSON message, or a JSON array of messages.
 * Senders batch what they send in one event-loop turn into one frame, so a `.map()` over
 * thousands of inputs costs a few socket writes rather than one per message.
 */

/** Most messages one frame may carry. */
export const MAX_MESSAGES_PER_FRAME = 100_000;

/** Splits a frame into its messages (still to be validated one by one). */
export function parseFrame(text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ProtocolError("message is not valid JSON");
  }
  if (!Array.isArray(parsed)) return [parsed];
  if (parsed.length > MAX_MESSAGES_PER_FRAME) {
    throw new ProtocolError(`a frame may carry at most ${MAX_MESSAGES_PER_FRAME} messages, this one has ${parsed.length}`);
  }
  return parsed;
}

/**
 * Collects messages and writes them as one frame at the end of the current event-loop turn.
 * Messages are only batched while the frame stays within MAX_MESSAGE_BYTES (the server refuses
 * larger frames whole, unread, so it cannot answer the requests they held). A single message
 * that is larger by itself goes to `oversized` when given, so its sender can fail it, and is
 * otherwise written alone.
 */
export class FrameBatcher<M> {
  private pending: M[] = [];
  private scheduled = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly oversized?: (message: M, bytes: number) => void,
  ) {}

  push(message: M): void {
    this.pending.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let parts: string[] = [];
    let bytes = 2; // the array's brackets
    const writeParts = () => {
      if (parts.length > 0) this.write(parts.length === 1 ? parts[0] : `[${parts.join(",")}]`);
      parts = [];
      bytes = 2;
    };
    for (const message of batch) {
      const text = JSON.stringify(message);
      const size = Buffer.byteLength(text);
      if (size > MAX_MESSAGE_BYTES && this.oversized) {
        this.oversized(message, size);
        continue;
      }
      if (parts.length >= MAX_MESSAGES_PER_FRAME || bytes + size + 1 > MAX_MESSAGE_BYTES) writeParts();
      parts.push(text);
      bytes += size + 1; // and its comma
    }
    writeParts();
  }
}
