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

/** Collects messages and writes them as one frame at the end of the current event-loop turn. */
export class FrameBatcher<M> {
  private pending: M[] = [];
  private scheduled = false;

  constructor(private readonly write: (text: string) => void) {}

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
    for (let i = 0; i < batch.length; i += MAX_MESSAGES_PER_FRAME) {
      const part = batch.slice(i, i + MAX_MESSAGES_PER_FRAME);
      this.write(JSON.stringify(part.length === 1 ? part[0] : part));
    }
  }
}
