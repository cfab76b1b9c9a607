/**
 * A look at a frame's raw bytes before `JSON.parse` sees them: how deeply its arrays and objects
 * nest, and where each message of a frame starts and ends. One linear pass, no recursion and no
 * allocation per value, so a hostile frame (millions of nested brackets) is refused in
 * milliseconds instead of being parsed for seconds and then overflowing some recursive consumer.
 * It reads structure only: a frame it lets through is still checked by `JSON.parse`.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Index just past the string whose opening quote is at `start` (the end of `bytes` if it never closes). */
function stringEnd(bytes: Buffer, start: number, end: number): number {
  let from = start + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0 || quote >= end) return end;
    let backslashes = 0;
    for (let j = quote - 1; j > start && bytes[j] === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The first byte that is not JSON whitespace, or -1. */
export function firstByte(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) if (!isSpace(bytes[i])) return bytes[i];
  return -1;
}

/** What the fast check found: whether the frame is within `maxDepth`, and how many top-level items an array frame holds. */
export interface DepthCheck {
  withinDepth: boolean;
  /** Items of a top-level array (commas at depth 1, plus one); 1 for anything else. */
  items: number;
}

/** Whether no array or object in `bytes` nests deeper than `maxDepth` (stops at the first that does). */
export function checkDepth(bytes: Buffer, maxDepth: number): DepthCheck {
  let depth = 0;
  let commas = 0;
  const end = bytes.length;
  for (let i = 0; i < end; i++) {
    const c = bytes[i];
    if (c === QUOTE) i = stringEnd(bytes, i, end) - 1;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return { withinDepth: false, items: commas + 1 };
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
    else if (c === COMMA && depth === 1) commas++;
  }
  return { withinDepth: true, items: commas + 1 };
}

/** One message's bytes inside a frame. */
export interface Span {
  start: number;
  end: number;
}

/** The messages of an array frame (`[m1, m2, ...]`), by their byte ranges; unbalanced input ends the last one at the end. */
export function splitArrayFrame(bytes: Buffer): Span[] {
  const spans: Span[] = [];
  const end = bytes.length;
  let depth = 0;
  let start = -1;
  for (let i = 0; i < end; i++) {
    const c = bytes[i];
    if (c === QUOTE) i = stringEnd(bytes, i, end) - 1;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++;
      if (depth === 1) start = i + 1;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
      if (depth === 0) {
        spans.push({ start, end: i });
        return spans.map(trim(bytes)).filter((s) => s.end > s.start);
      }
    } else if (c === COMMA && depth === 1) {
      spans.push({ start, end: i });
      start = i + 1;
    }
  }
  if (start >= 0) spans.push({ start, end });
  return spans.map(trim(bytes)).filter((s) => s.end > s.start);
}

function trim(bytes: Buffer): (span: Span) => Span {
  return ({ start, end }) => {
    while (start < end && isSpace(bytes[start])) start++;
    while (end > start && isSpace(bytes[end - 1])) end--;
    return { start, end };
  };
}

/** What can be read of a message too deep to parse: enough to answer it and say where it went too deep. */
export interface DeepMessage {
  /** Whether some array or object in it nests deeper than the limit. */
  tooDeep: boolean;
  /** Its request id, if it is an object with an integer `id`. */
  id: number | null;
  /** Its `type` and `function`, if it is an object with those strings. */
  type?: string;
  function?: string;
  /** The member of the message that went too deep, and the item of that member when it is an array (`args[2]`). */
  key?: string;
  index?: number;
}

/** Most bytes of a `type` or `function` string worth reading for an error message. */
const MAX_NAME_BYTES = 200;

/**
 * Reads a message's top-level members without parsing its values: its `id`, `type` and
 * `function`, and where it first nests deeper than `maxDepth` (the message itself is depth 1).
 */
export function inspectMessage(bytes: Buffer, span: Span, maxDepth: number): DeepMessage {
  const found: DeepMessage = { tooDeep: false, id: null };
  let depth = 0;
  let key: string | undefined;
  let lastString: Span | undefined;
  let valueStart = -1;
  let index = 0;
  let arrayAtTwo = false;
  const endMember = (at: number) => {
    if (key === undefined || valueStart < 0) return;
    const text = bytes.toString("utf8", valueStart, at).trim();
    if (key === "id" && /^-?\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text))) found.id = Number(text);
    if ((key === "type" || key === "function") && text.startsWith('"') && text.length <= MAX_NAME_BYTES) {
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value === "string") found[key] = value;
      } catch {
        // not a plain string: no name to report
      }
    }
    key = undefined;
    valueStart = -1;
  };
  for (let i = span.start; i < span.end; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      const stop = stringEnd(bytes, i, span.end);
      if (depth === 1 && valueStart < 0) lastString = { start: i, end: stop };
      i = stop - 1;
    } else if (c === COLON && depth === 1 && lastString) {
      key = keyText(bytes, lastString);
      lastString = undefined;
      valueStart = i + 1;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++;
      if (depth === 2) {
        arrayAtTwo = c === OPEN_ARRAY;
        index = 0;
      }
      if (depth > maxDepth && !found.tooDeep) {
        found.tooDeep = true;
        found.key = depth > 1 ? key : undefined;
        found.index = depth > 2 && arrayAtTwo ? index : undefined;
      }
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
      if (depth === 0) endMember(i);
    } else if (c === COMMA) {
      if (depth === 1) endMember(i);
      else if (depth === 2) index++;
    }
  }
  return found;
}

function keyText(bytes: Buffer, span: Span): string | undefined {
  if (span.end - span.start > MAX_NAME_BYTES) return undefined;
  try {
    return JSON.parse(bytes.toString("utf8", span.start, span.end)) as string;
  } catch {
    return undefined;
  }
}
