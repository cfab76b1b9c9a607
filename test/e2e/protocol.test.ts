import { DEFAULT_FUNCTION_OPTIONS, MAX_MESSAGE_BYTES } from "@stubrun/protocol";
import fs from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { ROOT, TestServer, writeFixture } from "./harness";
import { steadySource, RawClient, type RawMessage } from "./raw-client";

/**
 * A raw WebSocket client sends the server what no SDK would: broken JSON, unknown messages,
 * missing fields, path traversal, binary and oversized frames, arguments that cannot be decoded.
 * Each gets an error reply (with its request id when one was readable); the server stays up and
 * keeps serving another client's run meanwhile.
 */

type Message = RawMessage;

/** An app written in plain CommonJS, decorated by hand, so a raw client can upload it. */
const RAW_APP = `"use strict";
const { Stub } = require("stubrun");
const stub = new Stub("protocol-raw");
class Raw {
  echo(value) {
    console.log("echo got " + (value instanceof Date ? "a Date" : typeof value));
    return value;
  }
  async sleep(ms) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }
}
for (const name of ["echo", "sleep"]) stub.function()(Raw.prototype, name, Object.getOwnPropertyDescriptor(Raw.prototype, name));
`;

function rawFunction(methodName: string) {
  return { name: `Raw.${methodName}`, className: "Raw", methodName, kind: "function", options: DEFAULT_FUNCTION_OPTIONS, params: [] };
}

function rawAppCreate(id: number, files = [{ path: "main.js", code: RAW_APP }]) {
  return {
    type: "app.create",
    id,
    manifest: { name: "protocol-raw", entry: "main.js", projectRoot: ROOT, functions: [rawFunction("echo"), rawFunction("sleep")] },
    files,
  };
}


/** Sends `text` on a connection of its own and returns the code the server closed it with. */
function sendOnItsOwnConnection(server: TestServer, text: string): Promise<number> {
  const socket = new WebSocket(`${server.url.replace("http", "ws")}/ws`, { perMessageDeflate: false, headers: server.authHeaders });
  return new Promise((resolve, reject) => {
    socket.once("open", () => socket.send(text));
    socket.once("close", (code) => resolve(code));
    socket.once("error", reject);
  });
}

function expectRefusal(reply: Message, id: number | null, message: string | RegExp): void {
  expect(reply).toMatchObject({ type: "reply", id, ok: false });
  expect(typeof reply.error?.message).toBe("string");
  if (typeof message === "string") expect(reply.error?.message).toContain(message);
  else expect(reply.error?.message).toMatch(message);
}

describe("protocol: bad messages from a raw client", () => {
  let server: TestServer;
  let raw: RawClient;
  const steadyFile = writeFixture("protocol-steady.ts", steadySource("protocol-steady"));

  beforeAll(async () => {
    server = await TestServer.start();
    raw = await RawClient.open(server);
  });
  afterAll(async () => {
    await raw?.close();
    await server.stop();
  });

  test("invalid JSON gets an error reply without an id", async () => {
    raw.send("{this is not json");
    expectRefusal(await raw.reply(null), null, "message is not valid JSON");
  });

  test("JSON that is not an object gets an error reply", async () => {
    for (const text of ["42", "null", "true", '"call.start"']) {
      raw.send(text);
      expectRefusal(await raw.reply(null), null, "message must be a JSON object");
    }
  });

  test("a frame that is an array: each of its messages is answered on its own", async () => {
    raw.send(JSON.stringify([1, { type: "app.explode", id: 15 }, { type: "app.stop", id: 16, appId: "ap-nope" }]));
    expectRefusal(await raw.reply(null), null, "message must be a JSON object");
    expectRefusal(await raw.reply(15), 15, 'unknown message type "app.explode"');
    expect(await raw.reply(16)).toMatchObject({ ok: true, value: { stopped: false } });
  });

  test("a message without a type, and one with an unknown type (its id is echoed)", async () => {
    expectRefusal(await raw.request({ id: 11 }), 11, '"type" must be a string');
    expectRefusal(await raw.request({ type: "app.explode", id: 12 }), 12, 'unknown message type "app.explode"');
    expectRefusal(await raw.request({ type: "constructor", id: 13 }), 13, 'unknown message type "constructor"');
  });

  test("call.start missing its fields", async () => {
    expectRefusal(await raw.request({ type: "call.start", id: 21 }), 21, /^call\.start: "(appId|function|args)" must be /);
    expectRefusal(await raw.request({ type: "call.start", id: 23, function: "A.b", args: [] }), 23, 'call.start: "appId" must be a string');
    expectRefusal(await raw.request({ type: "call.start", id: 22, appId: "ap-x", function: "A.b" }), 22, 'call.start: "args" must be an array');
    raw.send({ type: "call.start", appId: "ap-x", function: "A.b", args: [] });
    expectRefusal(await raw.reply(null), null, 'call.start: "id" must be an integer');
  });

  test("call.start for an unknown app is refused by name", async () => {
    const reply = await raw.request({ type: "call.start", id: 31, appId: "ap-nope", function: "Raw.echo", args: [] });
    expectRefusal(reply, 31, "no app with id ap-nope");
    expect(reply.error?.name).toBe("RequestRefusedError");
  });

  test("app.create with a path-traversal file path is refused and writes nothing outside the upload", async () => {
    const before = fs.readdirSync(server.home).sort();
    const escape = { path: "../x.js", code: "module.exports = 'escaped';" };
    expectRefusal(
      await raw.request(rawAppCreate(41, [{ path: "main.js", code: RAW_APP }, escape])),
      41,
      'files[1]: path "../x.js" must be relative and stay inside the upload',
    );
    expectRefusal(
      await raw.request(rawAppCreate(42, [{ path: "main.js", code: RAW_APP }, { path: "lib/../../../x.js", code: "" }])),
      42,
      "must be relative and stay inside the upload",
    );
    expectRefusal(await raw.request(rawAppCreate(43, [{ path: "/tmp/x.js", code: "" }])), 43, "must be relative and stay inside the upload");
    const entryEscape = rawAppCreate(44);
    entryEscape.manifest.entry = "../main.js";
    expectRefusal(await raw.request(entryEscape), 44, 'entry "../main.js" must be a relative path inside the upload');
    expect(fs.readdirSync(server.home).sort()).toEqual(before);
    expect(fs.existsSync(path.join(server.home, "x.js"))).toBe(false);
    expect(fs.existsSync(path.join(server.home, "code", "x.js"))).toBe(false);
  });

  test("app.create whose upload lacks its entry file, or names a function twice", async () => {
    expectRefusal(await raw.request(rawAppCreate(45, [{ path: "other.js", code: "" }])), 45, 'the upload has no entry file "main.js"');
    const twice = rawAppCreate(46);
    twice.manifest.functions.push(rawFunction("echo"));
    expectRefusal(await raw.request(twice), 46, "names function Raw.echo twice");
  });

  test("a binary frame is refused (with the id it carried)", async () => {
    raw.send(Buffer.from(JSON.stringify({ type: "app.stop", id: 51, appId: "ap-x" })), { binary: true });
    expectRefusal(await raw.reply(51), 51, "binary frames are not part of the protocol");
    raw.send(Buffer.from([0xff, 0x00, 0x13, 0x37]), { binary: true });
    expectRefusal(await raw.reply(null), null, "binary frames are not part of the protocol");
  });

  test("a message over MAX_MESSAGE_BYTES closes its own connection unread (1009); the server and other connections go on", async () => {
    const head = '{"type":"app.stop","id":61,"appId":"';
    const oversized = head + "x".repeat(MAX_MESSAGE_BYTES + 1024 - head.length) + '"}';
    expect(Buffer.byteLength(oversized)).toBeGreaterThan(MAX_MESSAGE_BYTES);
    expect(await sendOnItsOwnConnection(server, oversized)).toBe(1009);
    expect(raw.isOpen).toBe(true);
    expect(await raw.request({ type: "app.stop", id: 62, appId: "ap-nope" })).toMatchObject({ ok: true, value: { stopped: false } });
  });

  test("cancel and stop of things that do not exist are answered, not errors", async () => {
    expect(await raw.request({ type: "call.cancel", id: 71, callId: "fc-nope" })).toMatchObject({ ok: true, value: { cancelled: false } });
    expect(await raw.request({ type: "app.stop", id: 72, appId: "ap-nope" })).toMatchObject({ ok: true, value: { stopped: false } });
  });

  test("a raw app: calls work, an unknown function is refused, undecodable arguments fail the call and not the worker", async () => {
    const created = await raw.request(rawAppCreate(81));
    expect(created).toMatchObject({ ok: true, value: { state: "ephemeral" } });
    const appId = (created.value as { appId: string }).appId;

    const start = async (id: number, fn: string, args: unknown[]) => {
      const reply = await raw.request({ type: "call.start", id, appId, function: fn, args });
      expect(reply).toMatchObject({ ok: true });
      const callId = (reply.value as { callId: string }).callId;
      const result = await raw.take((m) => m.type === "call.result" && m.callId === callId, `result of ${callId}`);
      return { callId, result };
    };

    const first = await start(82, "Raw.echo", [{ $: "date", v: "2024-01-01T00:00:00.000Z" }]);
    expect(first.result).toMatchObject({ ok: true, value: { $: "date", v: "2024-01-01T00:00:00.000Z" } });
    expect(await raw.take((m) => m.type === "call.output" && m.callId === first.callId, "output")).toMatchObject({
      stream: "stdout",
      data: "echo got a Date\n",
    });

    expectRefusal(
      await raw.request({ type: "call.start", id: 83, appId, function: "Raw.nope", args: [] }),
      83,
      `app protocol-raw (${appId}) has no function Raw.nope; its functions are: Raw.echo, Raw.sleep`,
    );

    // Malformed tagged values decode as plain data.
    const odd = await start(84, "Raw.echo", [{ $: "bigint", v: "12x" }]);
    expect(odd.result).toMatchObject({ ok: true, value: { $: "obj", v: { $: "bigint", v: "12x" } } });

    // An argument whose decoding throws fails its call with the reason; the worker lives on.
    const broken = await start(85, "Raw.echo", [{ $: "error", name: "Error", message: { toString: 1 } }]);
    expect(broken.result).toMatchObject({ ok: false });
    expect((broken.result.error as { message: string }).message).toMatch(/Cannot convert object to primitive value/);
    expect((broken.result.error as { message: string }).message).not.toMatch(/worker exited/);

    const after = await start(86, "Raw.echo", ["still here"]);
    expect(after.result).toMatchObject({ ok: true, value: "still here" });

    expect(await raw.request({ type: "app.stop", id: 87, appId })).toMatchObject({ ok: true, value: { stopped: true } });
    expectRefusal(await raw.request({ type: "call.start", id: 88, appId, function: "Raw.echo", args: [] }), 88, `app protocol-raw (${appId}) is stopped`);
  });

  test("a client that vanishes mid-call: its call ends and its app stops", async () => {
    const doomed = await RawClient.open(server);
    const created = await doomed.request(rawAppCreate(1));
    const appId = (created.value as { appId: string }).appId;
    expect(await doomed.request({ type: "call.start", id: 2, appId, function: "Raw.sleep", args: [60_000] })).toMatchObject({ ok: true });
    await doomed.close();
    const deadline = Date.now() + 10_000;
    let app: { state: string; runningTasks: number } | undefined;
    while (Date.now() < deadline) {
      const apps = (await (await server.api("/api/apps")).json()) as { id: string; state: string; runningTasks: number }[];
      app = apps.find((a) => a.id === appId);
      if (app?.state === "stopped" && app.runningTasks === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(app).toMatchObject({ state: "stopped", runningTasks: 0 });
  });

  test("all of it at once, while another client's run goes on: that run succeeds and the server stays up", async () => {
    const run = server.run(["--quiet", steadyFile, "--count", "8"]);
    const noisy = await RawClient.open(server);
    try {
      for (let round = 0; round < 5; round++) {
        noisy.send("{nope");
        noisy.send("[7]");
        noisy.send({ type: "app.explode", id: 100 + round });
        noisy.send({ type: "call.start", id: 200 + round });
        noisy.send({ type: "call.start", id: 300 + round, appId: "ap-nope", function: "A.b", args: [] });
        noisy.send(rawAppCreate(400 + round, [{ path: "../x.js", code: "" }]));
        noisy.send(Buffer.from("binary"), { binary: true });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await sendOnItsOwnConnection(server, "x".repeat(MAX_MESSAGE_BYTES + 1))).toBe(1009);
      for (let round = 0; round < 5; round++) {
        for (const id of [100, 200, 300, 400]) expect(await noisy.reply(id + round)).toMatchObject({ ok: false });
      }
      const r = await run;
      expect(r.stdout).toBe("tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\ntick 7\ntick 8\n36\n");
      expect(r.code).toBe(0);
      expect(noisy.isOpen).toBe(true);
    } finally {
      await noisy.close();
    }
    expect(server.alive).toBe(true);
    const again = await server.run(["--quiet", steadyFile, "--count", "2"]);
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: "tick 1\ntick 2\n3\n" });
  });
});
