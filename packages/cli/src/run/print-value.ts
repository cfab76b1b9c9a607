/** A return value on stdout: bytes as they are (`stubrun gen.ts > out.png`, as a web endpoint serves them), the rest as text. */
export function printValue(value: unknown): void {
  if (value instanceof Uint8Array) process.stdout.write(value);
  else if (value !== undefined) process.stdout.write(`${formatReturnValue(value)}\n`);
}

/** A string as is; anything else as compact JSON (BigInt as digits, Map as an object, Set as an array). */
export function formatReturnValue(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Map) return Object.fromEntries(v);
    if (v instanceof Set) return [...v];
    return v;
  });
}
