import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * Answers 200 with a body streamed from `source` (a file, a tree's bytes). An error once bytes
 * have gone out cuts the connection: the client sees a short body, never a complete-looking one
 * (and checks what it got against its hash anyway).
 */
export async function sendStream(res: ServerResponse, headers: Record<string, string | number>, source: AsyncIterable<Uint8Array> | Readable): Promise<void> {
  res.writeHead(200, { ...headers, "cache-control": "no-store" });
  try {
    await pipeline(source instanceof Readable ? source : Readable.from(source), res);
  } catch {
    res.destroy(); // the client went away, or a file changed under us: nothing more to say
  }
}
