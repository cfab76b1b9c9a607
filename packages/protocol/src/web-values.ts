import type { Encoded } from "./codec";

/**
 * The Web's Request and Response as values on the wire, for web endpoints that own their HTTP:
 * a method that takes a `Request` gets the raw request, and a `Response` it returns sets the
 * status, headers and body. Bodies travel as base64.
 */
export interface WireRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body?: string;
}

export interface WireResponse {
  status: number;
  headers: [string, string][];
  body: string;
}

/** A Request as the codec carries it (the server makes it from the HTTP request it received). */
export function encodeRequest(request: WireRequest): Encoded {
  return { $: "request", v: request as unknown as Encoded };
}

/** A Response as the codec carries it: its body read whole (a worker awaits this before answering). */
export async function encodeResponse(response: Response): Promise<Encoded> {
  const body = Buffer.from(await response.arrayBuffer()).toString("base64");
  const wire: WireResponse = { status: response.status, headers: [...response.headers.entries()], body };
  return { $: "response", v: wire as unknown as Encoded };
}

/** The response inside an encoded value, if it is one. */
export function wireResponseOf(value: Encoded): WireResponse | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value.$ !== "response") return undefined;
  const v = value.v as unknown as Partial<WireResponse>;
  if (!v || typeof v.status !== "number" || !Array.isArray(v.headers) || typeof v.body !== "string") return undefined;
  return v as WireResponse;
}

/** Rebuilds a Request (codec's decode). */
export function requestFromWire(v: unknown): Request {
  const wire = v as Partial<WireRequest>;
  const method = typeof wire.method === "string" ? wire.method : "GET";
  const init: RequestInit = { method, headers: Array.isArray(wire.headers) ? wire.headers : [] };
  if (typeof wire.body === "string" && method !== "GET" && method !== "HEAD") init.body = Buffer.from(wire.body, "base64");
  return new Request(typeof wire.url === "string" ? wire.url : "http://localhost/", init);
}

/** Rebuilds a Response (codec's decode). */
export function responseFromWire(v: unknown): Response {
  const wire = v as Partial<WireResponse>;
  const status = typeof wire.status === "number" ? wire.status : 200;
  const body = typeof wire.body === "string" && status !== 204 && status !== 304 ? Buffer.from(wire.body, "base64") : null;
  return new Response(body, { status, headers: Array.isArray(wire.headers) ? wire.headers : [] });
}
