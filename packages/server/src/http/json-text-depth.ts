/**
 * How deeply JSON text nests, measured on the text before it is parsed: parsing 8 MiB of `[[[[`
 * takes seconds of the event loop, a linear scan takes milliseconds.
 */

/** Where JSON text first nests deeper than `max`: `key` is the top-level object key it is under, if any. */
export interface TooDeep {
  key: string | undefined;
}

/**
 * Scans JSON `text` (valid or not) and says where it first nests arrays and objects more than
 * `max` deep, or undefined when it never does.
 */
export function findTooDeepJson(text: string, max: number): TooDeep | undefined {
  let depth = 0;
  let inString = false;
  let stringStart = 0;
  let lastTopString: string | undefined;
  let key: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) {
        inString = false;
        if (depth === 1) lastTopString = text.slice(stringStart, i + 1);
      }
      continue;
    }
    switch (c) {
      case 0x22:
        inString = true;
        stringStart = i;
        break;
      case 0x3a /* : */:
        if (depth === 1) key = decodeKey(lastTopString);
        break;
      case 0x5b /* [ */:
      case 0x7b /* { */:
        if (++depth > max) return { key: depth > 1 ? key : undefined };
        break;
      case 0x5d /* ] */:
      case 0x7d /* } */:
        depth--;
        break;
    }
  }
  return undefined;
}

function decodeKey(literal: string | undefined): string | undefined {
  if (literal === undefined) return undefined;
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}
