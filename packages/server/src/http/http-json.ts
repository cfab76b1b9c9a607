import type { IncomingMessage, ServerResponse } from "node:http";

/** The JSON object body, or why it cannot be read (a message that never quotes the body). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown> | string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on("error", () => resolve("the request body was cut off"));
    req.on("end", () => {
      if (size > maxBytes) return resolve(`the body is over ${maxBytes} bytes`);
      try {
        const value = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
        resolve(typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : "the body must be a JSON object");
      } catch {
        resolve("the body is not valid JSON");
      }
    });
  });
}

/** Answers with a JSON body. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
