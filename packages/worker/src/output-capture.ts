/**
 * Captures what user code writes to stdout and stderr and hands it to `sink`, tagged with the
 * running call (null outside calls: enter and exit hooks), so it travels on the same ordered
 * channel as the call's result.
 */
export function captureOutput(current: () => string | null, sink: (callId: string | null, stream: "stdout" | "stderr", data: string) => void): void {
  for (const stream of ["stdout", "stderr"] as const) {
    const target = process[stream];
    const write = target.write.bind(target) as (...args: unknown[]) => boolean;
    target.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      if (!process.connected) return write(chunk, encoding, callback);
      const callId = current();
      const data = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
      sink(callId, stream, data);
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") process.nextTick(done as () => void);
      return true;
    }) as typeof target.write;
  }
}
