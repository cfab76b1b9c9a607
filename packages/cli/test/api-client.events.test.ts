import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApiClient } from "../src/api-client";
import { Status } from "../src/status";

/**
 * `ApiClient.events()` reads a server-sent event stream (`app logs --follow`) the way the SSE
 * format defines it, whatever server or proxy sits between: CRLF or CR line ends, `data:` over
 * several lines, comments, chunks that split a line. A tiny local server sends the bytes.
 */

let server: http.Server;
let url: string;
/** The chunks `/events` sends, each flushed on its own. */
let chunks: (string | Buffer)[] = [];
let authorization: string | undefined;

beforeAll(async () => {
  process.env.STUBRUN_TOKEN = "test-token";
  server = http.createServer(async (req, res) => {
    if (req.url === "/health") return void res.end(JSON.stringify({ service: "stubrun" }));
    authorization = req.headers.authorization;
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const chunk of chunks) {
      res.write(chunk);
      await new Promise((r) => setImmediate(r)); // its own read on the client side
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  delete process.env.STUBRUN_TOKEN;
  await new Promise((r) => server.close(r));
});

/** The events the client reports for a stream sent as `sent`. */
async function received(sent: (string | Buffer)[]): Promise<[string, unknown][]> {
  chunks = sent;
  const events: [string, unknown][] = [];
  await new ApiClient(url, "/nonexistent-home", new Status(true)).events("/events", (event, data) => events.push([event, data]));
  return events;
}

test("LF line ends, as the stubrun server sends them; the token goes along", async () => {
  expect(await received(['event: log\ndata: {"text":"hi"}\n\n', 'event: end\ndata: {"state":"stopped"}\n\n'])).toEqual([
    ["log", { text: "hi" }],
    ["end", { state: "stopped" }],
  ]);
  expect(authorization).toBe("Bearer test-token");
});

test("CRLF line ends (a proxy, or another server)", async () => {
  expect(await received(['event: log\r\ndata: {"text":"hi"}\r\n\r\n', 'event: end\r\ndata: {"state":"stopped"}\r\n\r\n'])).toEqual([
    ["log", { text: "hi" }],
    ["end", { state: "stopped" }],
  ]);
});

test("CR line ends", async () => {
  expect(await received(['event: log\rdata: {"text":"hi"}\r\r'])).toEqual([["log", { text: "hi" }]]);
});

test("data over several lines is one value, its lines joined by newlines", async () => {
  expect(await received(['event: log\r\ndata: {"text":\r\ndata: "two lines"}\r\n\r\n'])).toEqual([["log", { text: "two lines" }]]);
  expect(await received(["event: log\ndata: [1,\ndata: 2,\ndata: 3]\n\n"])).toEqual([["log", [1, 2, 3]]]);
});

test("chunks that split a line, a CRLF or a character; comments and a field without its space", async () => {
  const euro = Buffer.from("€");
  const sent = [": keep-alive\r\n\r\nevent: lo", "g\r", '\ndata:{"text":"1 ', euro.subarray(0, 1), euro.subarray(1), '"}\r\n', "\r\n", "event: end\r\ndata: {}\r\n\r\n"];
  expect(await received(sent)).toEqual([
    ["log", { text: "1 €" }],
    ["end", {}],
  ]);
});
