import { MAX_MESSAGE_BYTES } from "../src/defaults";
import { FrameBatcher, parseFrame } from "../src/frames";

/** Pushes `messages` in one turn and returns the frames written. */
function framesOf<M>(messages: M[], oversized?: (message: M, bytes: number) => void): string[] {
  const frames: string[] = [];
  const batcher = new FrameBatcher<M>((text) => frames.push(text), oversized);
  for (const m of messages) batcher.push(m);
  batcher.flush();
  return frames;
}

describe("FrameBatcher keeps every frame within MAX_MESSAGE_BYTES", () => {
  test("small messages of one turn share one frame, in order", () => {
    const frames = framesOf([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(frames).toEqual(['[{"n":1},{"n":2},{"n":3}]']);
    expect(framesOf([{ n: 1 }])).toEqual(['{"n":1}']);
  });

  test("messages that together exceed the limit are split over frames, none over it, none lost", () => {
    const chunk = "x".repeat(1024 * 1024);
    const messages = Array.from({ length: 40 }, (_, id) => ({ id, chunk }));
    const frames = framesOf(messages);
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const ids = frames.flatMap((f) => parseFrame(f) as { id: number }[]).map((m) => m.id);
    expect(ids).toEqual(messages.map((m) => m.id));
  });

  test("a message over the limit by itself goes to `oversized`, and the others are still written", () => {
    const big = { id: 2, data: "y".repeat(MAX_MESSAGE_BYTES) };
    const refused: [number, number][] = [];
    const frames = framesOf([{ id: 1 }, big, { id: 3 }], (m, bytes) => refused.push([m.id, bytes]));
    expect(refused).toEqual([[2, Buffer.byteLength(JSON.stringify(big))]]);
    expect(frames.flatMap((f) => parseFrame(f) as { id: number }[]).map((m) => m.id)).toEqual([1, 3]);
  });

  test("without an `oversized` handler, a message over the limit is written alone", () => {
    const big = { id: 2, data: "y".repeat(MAX_MESSAGE_BYTES) };
    const frames = framesOf([{ id: 1 }, big, { id: 3 }]);
    expect(frames.map((f) => (parseFrame(f) as { id: number }[]).map((m) => m.id))).toEqual([[1], [2], [3]]);
  });
});
