/**
 * Captures what user code writes to stdout and stderr while a call runs, and hands it to `sink`
 * tagged with the call, so it travels on the same ordered channel as the call's result.
 * Writes outside a call go to the real streams (the server logs them).
 */
export function captureOutput(current: () => string | undefined, sink: (callId: string, stream: "stdout" | "stderr", data: string) => void): void {
  for (const stream of ["stdout", "stderr"] as const) {
    const target = process[stream];
    const write = target.write.bind(target) as (...args: unknown[]) => boolean;
    target.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      const callId = current();
      if (callId === undefined) return write(chunk, encoding, callback);
      const data = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
      sink(callId, stream, data);
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") process.nextTick(done as () => void);
      return true;
    }) as typeof target.write;
  }
}
