import { MAX_MESSAGE_BYTES } from "./defaults";
import { ProtocolError } from "./errors";
import { checkDepth, firstByte, inspectMessage, splitArrayFrame, type Span } from "./frame-scan";

/**
 * Framing on the WebSocket: a text frame holds one JSON message, or a JSON array of messages.
 * Senders batch what they send in one event-loop turn into one frame, so a `.map()` over
 * thousands of inputs costs a few socket writes rather than one per message.
 */

/** Most messages one frame may carry. */
export const MAX_MESSAGES_PER_FRAME = 100_000;

/**
 * How deeply a message nests around the values it carries: the message, then at most
 * manifest > functions > function > params > param > choices. Values may nest
 * `maxValueDepth` below that.
 */
export const MESSAGE_ENVELOPE_DEPTH = 8;

/** Limits a receiver puts on frames before parsing them. */
export interface FrameLimits {
  /** Deepest nesting of arrays and objects allowed in a message's values. @default no limit */
  maxValueDepth?: number;
}

/**
 * A message of a frame that was refused before it was parsed (it nests too deeply). The rest of
 * the frame is still served; this one only gets its error, with its id when one could be read.
 */
export class RefusedMessage {
  constructor(
    readonly id: number | null,
    readonly error: ProtocolError,
  ) {}
}

/** The refusal for a value that nests more than `max` arrays and objects deep; `what` names it. */
export function tooDeepMessage(what: string, max: number): string {
  return `${what} nests arrays and objects more than ${max} deep, over the server's limit (maxValueDepth); send flatter data`;
}

/**
 * Splits a frame into its messages (still to be validated one by one). With `maxValueDepth`,
 * the raw bytes are scanned first and a message nesting deeper than it allows is never parsed:
 * it comes back as a RefusedMessage, so parsing costs time linear in the frame's size and nothing
 * deeper than the limit ever reaches code that recurses (`JSON.stringify`, the codec).
 */
export function parseFrame(data: string | Buffer, limits: FrameLimits = {}): unknown[] {
  if (limits.maxValueDepth === undefined) return splitParsed(parseJson(typeof data === "string" ? data : data.toString("utf8")));
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const isArrayFrame = firstByte(bytes) === 0x5b;
  const maxDepth = limits.maxValueDepth + MESSAGE_ENVELOPE_DEPTH;
  const check = checkDepth(bytes, maxDepth + (isArrayFrame ? 1 : 0));
  if (isArrayFrame && check.items > MAX_MESSAGES_PER_FRAME) throw tooManyMessages(check.items);
  if (check.withinDepth) return splitParsed(parseJson(bytes.toString("utf8")));
  if (!isArrayFrame) {
    const refused = refuse(bytes, { start: 0, end: bytes.length }, limits.maxValueDepth, maxDepth);
    return [refused ?? new RefusedMessage(null, new ProtocolError(tooDeepMessage("message", limits.maxValueDepth)))];
  }
  return parseDeepArrayFrame(bytes, limits.maxValueDepth, maxDepth);
}

/** An array frame with some message too deep: those are refused, the others parsed (in one go, with a placeholder for each refused one). */
function parseDeepArrayFrame(bytes: Buffer, maxValueDepth: number, maxDepth: number): unknown[] {
  const refused = new Map<number, RefusedMessage>();
  const parts: string[] = [];
  splitArrayFrame(bytes).forEach((span, i) => {
    const message = refuse(bytes, span, maxValueDepth, maxDepth);
    if (message) refused.set(i, message);
    parts.push(message ? "0" : bytes.toString("utf8", span.start, span.end));
  });
  let rest: unknown[];
  try {
    rest = splitParsed(parseJson(`[${parts.join(",")}]`));
  } catch (error) {
    return [...refused.values(), new RefusedMessage(null, error as ProtocolError)];
  }
  return rest.map((message, i) => refused.get(i) ?? message);
}

/** The refusal of the message in `span` if it nests deeper than allowed. */
function refuse(bytes: Buffer, span: Span, maxValueDepth: number, maxDepth: number): RefusedMessage | undefined {
  const found = inspectMessage(bytes, span, maxDepth);
  if (!found.tooDeep) return undefined;
  const type = found.type ?? "message";
  let what: string;
  if (found.type === "call.start" && found.key === "args" && found.index !== undefined) {
    what = `call.start: argument ${found.index + 1}${found.function ? ` of ${found.function}` : ""}`;
  } else if (found.key !== undefined) what = `${type}: "${found.key}"`;
  else what = type;
  return new RefusedMessage(found.id, new ProtocolError(tooDeepMessage(what, maxValueDepth)));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError("message is not valid JSON");
  }
}

function splitParsed(parsed: unknown): unknown[] {
  if (!Array.isArray(parsed)) return [parsed];
  if (parsed.length > MAX_MESSAGES_PER_FRAME) throw tooManyMessages(parsed.length);
  return parsed;
}

function tooManyMessages(count: number): ProtocolError {
  return new ProtocolError(`a frame may carry at most ${MAX_MESSAGES_PER_FRAME} messages, this one has ${count}`);
}

/**
 * Collects messages and writes them as one frame at the end of the current event-loop turn.
 * Messages are only batched while the frame stays within MAX_MESSAGE_BYTES (the server refuses
 * larger frames whole, unread, so it cannot answer the requests they held). A single message
 * that is larger by itself goes to `oversized` when given, so its sender can fail it, and is
 * otherwise written alone. A message JSON cannot encode (a BigInt, a value nested too deeply for
 * the stack) goes to `unsendable` when given and is otherwise dropped: one bad message never
 * stops the others, and never throws out of the timer that flushes them.
 */
export class FrameBatcher<M> {
  private pending: M[] = [];
  private scheduled = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly oversized?: (message: M, bytes: number) => void,
    private readonly unsendable?: (message: M, error: Error) => void,
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
      let text: string;
      try {
        text = JSON.stringify(message);
      } catch (error) {
        this.unsendable?.(message, error instanceof Error ? error : new Error(String(error)));
        continue;
      }
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
