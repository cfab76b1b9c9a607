import fc from "fast-check";

/** One thing a fuzzer sends on a WebSocket: a text or binary frame. */
export interface WsSend {
  data: string | Buffer;
  binary: boolean;
}

/** What the generators may aim at: a real app (ids and function names) that must survive, and a well-formed upload. */
export interface WsTargets {
  appId: string;
  functions: string[];
}

const TYPES = ["app.create", "app.deploy", "app.update", "app.lookup", "call.start", "call.cancel", "app.stop", "heartbeat", "reply", "call.result", "call.output", "app.output", ""];

/** Arrays nested `depth` deep, as JSON text: `[[[...]]]`. */
export function nestedArrays(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** Objects nested `depth` deep, as JSON text: `{"a":{"a":...}}`. */
export function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth) + "0" + "}".repeat(depth);
}

/** A well-formed `app.create` whose pieces the mutators break. */
function validCreate(id: number): Record<string, unknown> {
  return {
    type: "app.create",
    id,
    manifest: {
      name: "fuzzed",
      entry: "main.js",
      projectRoot: "/tmp",
      functions: [{ name: "F.f", className: "F", methodName: "f", params: [], options: {}, web: null }],
    },
    files: [{ path: "main.js", code: "module.exports = {};" }],
  };
}

/**
 * Malformed, truncated, oversized, deeply nested and out-of-order frames: each value is the list
 * of frames one fast-check run sends, in order, on one connection.
 */
export function wsFrames(targets: WsTargets): fc.Arbitrary<WsSend[]> {
  const text = (data: string): WsSend => ({ data, binary: false });
  const anyId = fc.oneof(fc.integer(), fc.constant(null), fc.string(), fc.double(), fc.constant(-0), fc.constant(2 ** 53 + 1));
  const appId = fc.oneof(fc.constant(targets.appId), fc.string(), fc.constant(""), fc.constant("ap-" + "x".repeat(300)), fc.integer());
  const fnName = fc.oneof(fc.constantFrom(...targets.functions), fc.string(), fc.constant("constructor"), fc.constant("__proto__"), fc.constant("Target."));
  const value = fc.oneof(fc.jsonValue(), fc.anything().map((v) => { try { return JSON.parse(JSON.stringify(v) ?? "null"); } catch { return null; } }));
  const args = fc.oneof(
    fc.array(value, { maxLength: 5 }),
    value,
    fc.array(fc.record({ $: fc.constantFrom("undefined", "bigint", "date", "map", "set", "bytes", "error", "number", "object", "nope", "") , v: value }, { requiredKeys: [] }), { maxLength: 3 }),
  );

  // A message of a known type with fields of the wrong kind, missing, or extra.
  const shaped = fc
    .record(
      {
        type: fc.oneof(fc.constantFrom(...TYPES), fc.string()),
        id: anyId,
        appId,
        function: fnName,
        args,
        callId: fc.oneof(fc.string(), fc.constant("fc-000000001"), fc.integer()),
        name: fc.oneof(fc.string(), fc.constant("fuzzed"), fc.constant("x".repeat(100))),
        version: fc.oneof(fc.integer(), fc.double(), fc.string()),
        detach: fc.anything(),
        manifest: fc.oneof(fc.object(), fc.constant(validCreate(0).manifest), value),
        files: fc.oneof(fc.array(fc.record({ path: fc.oneof(fc.string(), fc.constantFrom("../x.js", "/etc/passwd", "a/../../b", "main.js", "")), code: fc.string() }), { maxLength: 3 }), value),
        constructor: value,
      },
      { requiredKeys: ["type"] },
    )
    // Stopping the target app is allowed, but would hide every later call of it from the fuzzer.
    .map((m) => text(JSON.stringify(m.type === "app.stop" && m.appId === targets.appId ? { ...m, appId: "ap-other" } : m)));

  // A valid message cut short.
  const truncated = fc
    .tuple(fc.constantFrom(JSON.stringify(validCreate(7)), JSON.stringify({ type: "call.start", id: 3, appId: targets.appId, function: targets.functions[0], args: [1] }), JSON.stringify([{ type: "heartbeat" }, { type: "app.lookup", id: 9, name: "x", function: "y" }])), fc.nat())
    .map(([s, n]) => text(s.slice(0, n % s.length)));

  // Deep nesting, bare or inside a call of the real app (the path that sends it on to a worker).
  const deep = fc
    .tuple(fc.integer({ min: 50, max: 120_000 }), fc.boolean(), fc.constantFrom("bare", "args", "manifest", "frame"))
    .map(([depth, arrays, where]) => {
      const nested = arrays ? nestedArrays(depth) : nestedObjects(depth);
      if (where === "bare") return text(nested);
      if (where === "frame") return text(`[${nested}]`);
      if (where === "manifest") return text(`{"type":"app.create","id":5,"manifest":${nested},"files":[]}`);
      return text(`{"type":"call.start","id":4,"appId":${JSON.stringify(targets.appId)},"function":${JSON.stringify(targets.functions[0])},"args":[${nested}]}`);
    });

  // Big strings and big batches (a few MiB; past-limit sizes are rare, they cost the most).
  const oversized = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 64 * 1024, max: 4 * 1024 * 1024 }).map((n) => text(JSON.stringify({ type: "app.lookup", id: 1, name: "x".repeat(n), function: "f" }))) },
    { weight: 1, arbitrary: fc.constantFrom(33, 40).map((mib) => text(`{"type":"heartbeat","pad":"${"y".repeat(mib * 1024 * 1024)}"}`)) },
    { weight: 3, arbitrary: fc.integer({ min: 1_000, max: 150_000 }).map((n) => text(JSON.stringify(Array.from({ length: n }, () => ({ type: "heartbeat" }))))) },
    { weight: 2, arbitrary: fc.integer({ min: 100, max: 3_000 }).map((n) => text(JSON.stringify(Array.from({ length: n }, (_, i) => ({ type: "call.cancel", id: i, callId: `fc-${i}` }))))) },
  );

  const garbage = fc.oneof(
    fc.string({ unit: "binary", maxLength: 200 }).map(text),
    fc.constantFrom("", " ", "null", "[]", "[[]]", "{}", '{"type":null}', "[null]", "1e999", '"\\ud800"', "\u0000", "[1,", '{"__proto__":{"type":"app.stop"}}').map(text),
    fc.uint8Array({ maxLength: 512 }).map((b): WsSend => ({ data: Buffer.from(b), binary: true })),
    fc.string({ maxLength: 200 }).map((s): WsSend => ({ data: Buffer.from(s), binary: true })),
    fc.jsonValue().map((v) => text(JSON.stringify(v))),
  );

  // Requests out of order: cancels and replies for calls that never were, stops of unknown apps, calls before any lookup.
  const outOfOrder = fc
    .array(
      fc.oneof(
        fc.record({ type: fc.constant("call.cancel"), id: fc.nat(), callId: fc.string() }),
        fc.record({ type: fc.constant("app.stop"), id: fc.nat(), appId: fc.string() }),
        fc.record({ type: fc.constant("reply"), id: fc.nat(), ok: fc.boolean(), value: fc.jsonValue() }),
        fc.record({ type: fc.constant("call.result"), callId: fc.string(), ok: fc.boolean() }),
        fc.record({ type: fc.constant("app.update"), id: fc.nat(), appId: fc.constant(targets.appId), manifest: fc.constant(validCreate(0).manifest), files: fc.constant(validCreate(0).files) }),
        fc.record({ type: fc.constant("call.start"), id: fc.constant(1), appId: fc.constant(targets.appId), function: fc.constantFrom(...targets.functions), args: fc.array(fc.jsonValue(), { maxLength: 2 }) }),
        fc.constant({ type: "heartbeat" }),
      ),
      { minLength: 1, maxLength: 30 },
    )
    .chain((messages) => fc.boolean().map((batched) => (batched ? [text(JSON.stringify(messages))] : messages.map((m) => text(JSON.stringify(m))))));

  return fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.oneof(shaped, garbage, truncated), { minLength: 1, maxLength: 4 }) },
    { weight: 2, arbitrary: deep.map((s) => [s]) },
    { weight: 1, arbitrary: oversized.map((s) => [s]) },
    { weight: 3, arbitrary: outOfOrder },
  );
}
