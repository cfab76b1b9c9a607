import { FrameBatcher, MESSAGE_ENVELOPE_DEPTH, parseFrame, RefusedMessage } from "../src/frames";
import { validateClientMessage } from "../src/validate";
import { valueDepth } from "../src/value-depth";

const nested = (depth: number, inner = "") => "[".repeat(depth) + inner + "]".repeat(depth);
const callStart = (id: number, args: string, fn = "A.f") => `{"type":"call.start","appId":"ap-x","function":"${fn}","args":[${args}],"id":${id}}`;

describe("parseFrame with maxValueDepth: messages too deep are refused before they are parsed", () => {
  test("a frame within the limit parses as before", () => {
    expect(parseFrame(callStart(1, nested(5)), { maxValueDepth: 8 })).toEqual([JSON.parse(callStart(1, nested(5)))]);
    expect(parseFrame(`[${callStart(1, "1")},${callStart(2, '"]]]"')}]`, { maxValueDepth: 8 })).toHaveLength(2);
  });

  test("a 100,000-deep argument is refused with the request's id, naming the argument and function", () => {
    const [refused] = parseFrame(Buffer.from(callStart(7, `1, ${nested(100_000)}`, "Raw.echo")), { maxValueDepth: 256 });
    expect(refused).toBeInstanceOf(RefusedMessage);
    expect((refused as RefusedMessage).id).toBe(7);
    expect((refused as RefusedMessage).error.message).toMatch(/^call\.start: argument 2 of Raw\.echo nests arrays and objects more than 256 deep/);
  });

  test("in a batch, only the deep message is refused; the others are parsed, in order", () => {
    const frame = `[${callStart(1, "1")}, ${callStart(2, nested(50))} ,{"type":"heartbeat"}]`;
    const items = parseFrame(frame, { maxValueDepth: 10 });
    expect(items).toHaveLength(3);
    expect(items[0]).toMatchObject({ id: 1, args: [1] });
    expect(items[1]).toBeInstanceOf(RefusedMessage);
    expect((items[1] as RefusedMessage).id).toBe(2);
    expect(items[2]).toEqual({ type: "heartbeat" });
  });

  test("strings holding brackets and escaped quotes do not count as nesting", () => {
    const tricky = JSON.stringify(`\\" ${"[".repeat(1000)} \\\\`);
    expect(parseFrame(callStart(3, tricky), { maxValueDepth: 2 })).toEqual([JSON.parse(callStart(3, tricky))]);
  });

  test("deep text that is not even JSON, or not a message, is refused without being parsed", () => {
    const [bare] = parseFrame(nested(1_000_000).slice(0, -1), { maxValueDepth: 256 });
    expect(bare).toBeInstanceOf(RefusedMessage);
    expect((bare as RefusedMessage).id).toBeNull();
    const [member] = parseFrame(`{"id":4,"type":"app.create","manifest":${nested(300)}}`, { maxValueDepth: 256 });
    expect((member as RefusedMessage).error.message).toMatch(/^app\.create: "manifest" nests arrays/);
  });

  test("the rest of a batch that is not valid JSON is refused once, after the deep message", () => {
    const items = parseFrame(`[${callStart(1, nested(40))}, {nope}]`, { maxValueDepth: 10 });
    expect(items.map((i) => (i as RefusedMessage).error.message)).toEqual([expect.stringMatching(/argument 1 of A\.f/), "message is not valid JSON"]);
  });

  test("a frame with more messages than allowed is refused before parsing", () => {
    expect(() => parseFrame(`[${"0,".repeat(100_000)}0]`, { maxValueDepth: 4 })).toThrow("at most 100000 messages");
  });

  test("the envelope of a real message (a manifest) fits within MESSAGE_ENVELOPE_DEPTH", () => {
    const manifest = {
      type: "app.create",
      id: 1,
      manifest: { functions: [{ options: { retries: { maxRetries: 0 } }, params: [{ choices: ["a"] }] }] },
    };
    expect(valueDepth(manifest, 100)).toBeLessThanOrEqual(MESSAGE_ENVELOPE_DEPTH);
    expect(parseFrame(JSON.stringify(manifest), { maxValueDepth: 0 })).toEqual([manifest]);
  });
});

describe("validateClientMessage refuses call arguments deeper than maxValueDepth", () => {
  test("at the limit passes, one deeper is refused naming the argument", () => {
    const at = { type: "call.start", id: 1, appId: "ap-x", function: "A.f", args: ["x", JSON.parse(nested(5))] };
    expect(validateClientMessage(at, { maxValueDepth: 5 })).toMatchObject({ args: at.args });
    const over = { ...at, args: ["x", JSON.parse(nested(6))] };
    expect(() => validateClientMessage(over, { maxValueDepth: 5 })).toThrow(/^call\.start: argument 2 of A\.f nests arrays and objects more than 5 deep/);
    expect(validateClientMessage(over)).toMatchObject({ type: "call.start" });
  });
});

describe("valueDepth", () => {
  test("measures arrays and objects, stops past max, and handles a wide array quickly", () => {
    expect(valueDepth(1, 3)).toBe(0);
    expect(valueDepth({ a: [1, { b: [] }], c: {} }, 10)).toBe(4);
    expect(valueDepth(JSON.parse(nested(100_000)), 256)).toBe(Infinity);
    expect(valueDepth(Array.from({ length: 1_000_000 }, () => [[]]), 256)).toBe(3);
  });
});

describe("FrameBatcher: a message JSON cannot encode", () => {
  test("goes to `unsendable`, and the others are still written", () => {
    const frames: string[] = [];
    const unsendable: unknown[] = [];
    const batcher = new FrameBatcher<unknown>((text) => frames.push(text), undefined, (message) => unsendable.push(message));
    const bad = { id: 2, value: 10n };
    batcher.push({ id: 1 });
    batcher.push(bad);
    batcher.push({ id: 3 });
    batcher.flush();
    expect(frames).toEqual(['[{"id":1},{"id":3}]']);
    expect(unsendable).toEqual([bad]);
  });
});
