import { UsageError } from "@stubrun/protocol";
import fs from "node:fs";

/** `FILE::REF` split into its parts. */
export interface RunTarget {
  file: string;
  ref: string | undefined;
}

/** Splits `FILE[::REF]`; a single `:` where `::` was meant gets a hint. */
export function parseTarget(target: string): RunTarget {
  const at = target.indexOf("::");
  if (at >= 0) return { file: target.slice(0, at), ref: target.slice(at + 2) };
  const colon = target.lastIndexOf(":");
  if (colon > 0 && !fs.existsSync(target) && fs.existsSync(target.slice(0, colon))) {
    const file = target.slice(0, colon);
    const ref = target.slice(colon + 1);
    throw new UsageError(`no such file: ${target}. To name an entrypoint use two colons: ${file}::${ref}`);
  }
  return { file: target, ref: undefined };
}
