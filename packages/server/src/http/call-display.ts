import { decodeValue, type CallInfo } from "@stubrun/protocol";
import { inspect } from "node:util";

/** Characters of a shown value; the rest is cut (the API has the whole value). */
const MAX_SHOWN = 20_000;

/** A call's arguments and result as a person reads them (the call's page): decoded, then shown as Node's inspect does. */
export interface CallDisplay {
  args: string | null;
  result: string | null;
  /** The error's name, message and remote stack. */
  error: string | null;
}

/** What the call's page shows of a call's values; values that cannot be decoded are shown as their JSON. */
export function callDisplay(info: CallInfo): CallDisplay {
  return {
    args: info.args === null ? null : showArgs(info.args),
    result: "result" in info ? show(() => decodeValue(info.result as never), JSON.stringify(info.result)) : null,
    error: info.error ? cut(info.error.stack && info.error.stack.includes(info.error.message) ? info.error.stack : `${info.error.name}: ${info.error.message}\n${info.error.stack ?? ""}`) : null,
  };
}

function showArgs(text: string): string {
  let encoded: unknown[];
  try {
    encoded = JSON.parse(text) as unknown[];
  } catch {
    return `${text}\n(arguments cut: only the start is kept)`;
  }
  return encoded.map((arg, i) => show(() => decodeValue(arg as never), JSON.stringify(arg), `#${i + 1} `)).join("\n");
}

function show(decode: () => unknown, fallback: string, prefix = ""): string {
  try {
    return cut(prefix + inspect(decode(), { depth: 8, breakLength: 80, maxArrayLength: 200, maxStringLength: MAX_SHOWN }));
  } catch {
    return cut(prefix + fallback);
  }
}

function cut(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}\n… (cut at ${MAX_SHOWN} characters)` : text;
}
