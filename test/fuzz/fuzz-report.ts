import fc from "fast-check";

/** Runs a fast-check property and, when it fails, throws a short error: the cause and a clipped counterexample (they can be megabytes). */
export async function checkProperty<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  const details = await fc.check(property, { numRuns, endOnFailure: true });
  if (!details.failed) return;
  const example = clip(safeStringify(details.counterexample), 1_500);
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`failed at run ${details.numRuns} of ${numRuns} (seed ${details.seed}, path "${details.counterexamplePath}"):\n${clip(cause, 3_000)}\ninput: ${example}`);
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (Buffer.isBuffer(v) ? `<${v.length} bytes>` : v && typeof v === "object" && (v as { type?: string }).type === "Buffer" ? "<bytes>" : v));
  } catch {
    return String(value);
  }
}

/** The first and last part of a long text, with how much was left out. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)} …(${text.length - max} characters)… ${text.slice(-half)}`;
}
