import { IpcBatcher, ipcMessages, MAX_MESSAGES_PER_IPC_WRITE } from "../src/ipc-batcher";

/** What a writer received, and what it could not write. */
function setUp(refuse: (m: { n: number }) => boolean = () => false) {
  const writes: unknown[] = [];
  const unsendable: { n: number }[] = [];
  const batcher = new IpcBatcher<{ n: number }>(
    (payload) => {
      const items = ipcMessages(payload) as { n: number }[];
      if (items.some(refuse)) throw new RangeError("Maximum call stack size exceeded");
      writes.push(payload);
    },
    (message) => unsendable.push(message),
  );
  return { batcher, writes, unsendable };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test("a turn's messages go in one write, in order; one message goes as itself", async () => {
  const h = setUp();
  h.batcher.push({ n: 1 });
  h.batcher.push({ n: 2 });
  h.batcher.push({ n: 3 });
  expect(h.writes).toEqual([]);
  await turn();
  h.batcher.push({ n: 4 });
  await turn();
  expect(h.writes).toEqual([[{ n: 1 }, { n: 2 }, { n: 3 }], { n: 4 }]);
});

test("a deep queue is written in writes of at most MAX_MESSAGES_PER_IPC_WRITE", () => {
  const h = setUp();
  for (let n = 0; n < MAX_MESSAGES_PER_IPC_WRITE + 3; n++) h.batcher.push({ n });
  h.batcher.flush();
  expect(h.writes.map((w) => (w as unknown[]).length)).toEqual([MAX_MESSAGES_PER_IPC_WRITE, 3]);
});

test("a message that cannot be written is reported alone; the rest of its batch still goes", () => {
  const h = setUp((m) => m.n === 2);
  for (const n of [1, 2, 3]) h.batcher.push({ n });
  h.batcher.flush();
  expect(h.writes).toEqual([{ n: 1 }, { n: 3 }]);
  expect(h.unsendable).toEqual([{ n: 2 }]);
});

test("ipcMessages reads a batch or a single message", () => {
  expect(ipcMessages([{ a: 1 }, { b: 2 }])).toEqual([{ a: 1 }, { b: 2 }]);
  expect(ipcMessages({ a: 1 })).toEqual([{ a: 1 }]);
});
