import os from "node:os";
import { DEFAULT_FUNCTION_OPTIONS, type Encoded, type FunctionManifest, type FunctionOptionsManifest, type WorkerConfig } from "@stubrun/protocol";
import { DEFAULT_LIMITS } from "../src/config/limits";
import type { CallOutcome } from "../src/dispatcher/dispatcher";
import { LocalDispatcher } from "../src/dispatcher/local-dispatcher";
import { PREFETCH_DEPTH } from "../src/dispatcher/prefetch";
import type { WorkerEvents, WorkerProcess } from "../src/dispatcher/worker-process";

/**
 * Prefetch: the LocalDispatcher sends a busy worker of a function with short calls its next
 * calls ahead, which the worker queues and runs in order. Fake workers and jest's fake timers
 * (which also stop `performance.now`, so a call takes the time the test advances).
 */

/** A worker that queues the calls it is sent, as worker/src/main.ts does, and runs them when told. */
class QueueingFakeWorker implements WorkerProcess {
  state: WorkerProcess["state"] = "starting";
  currentCallId: string | undefined;
  everReady = false;
  startFailureReported = false;
  idleSince = 0;
  readonly exited: Promise<void>;
  /** Every call it was sent, in order. */
  readonly sent: string[] = [];
  readonly dropped: string[] = [];
  /** What it holds: the call it runs first, then those waiting. */
  readonly queue: string[] = [];
  killed = false;
  private markExited!: () => void;

  constructor(
    readonly config: WorkerConfig,
    private readonly events: WorkerEvents,
  ) {
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  get id(): string {
    return this.config.workerId;
  }

  run(callId: string, _args: Encoded[]): void {
    this.sent.push(callId);
    this.queue.push(callId);
    this.state = "busy";
    this.currentCallId = callId;
  }

  prefetch(callId: string, _args: Encoded[]): void {
    this.sent.push(callId);
    this.queue.push(callId);
  }

  drop(callId: string): void {
    this.dropped.push(callId);
    this.queue.splice(this.queue.indexOf(callId), 1);
  }

  shutdown(): void {
    this.state = "stopping";
  }

  kill(): void {
    this.killed = true;
    this.exit("signal SIGKILL");
  }

  ready(): void {
    this.events.message(this, { type: "ready" });
  }

  /** Its first call ends, after `ms`; it starts the next it holds by itself. `ranMs`: how long it says the call ran. */
  finishOne(ms = 0, ranMs?: number): void {
    jest.advanceTimersByTime(ms);
    const callId = this.queue.shift() as string;
    this.events.message(this, { type: "done", callId, ok: true, value: callId, ...(ranMs === undefined ? {} : { ms: ranMs }) });
  }

  exit(description = "code 0"): void {
    if (this.state === "exited") return;
    this.state = "exited";
    this.events.exit(this, description);
    this.markExited();
  }
}

function setUp(options: Partial<FunctionOptionsManifest> = {}) {
  const workers: QueueingFakeWorker[] = [];
  const outcomes = new Map<string, CallOutcome>();
  const attempts = new Map<string, number[]>();
  const dispatcher = new LocalDispatcher(
    () => ({}),
    () => {},
    {
      limits: DEFAULT_LIMITS,
      startWorker: (config, _env, events) => {
        const worker = new QueueingFakeWorker(config, events);
        workers.push(worker);
        return worker;
      },
    },
  );
  const f: FunctionManifest = { name: "A.f", className: "A", methodName: "f", kind: "function", options: { ...DEFAULT_FUNCTION_OPTIONS, concurrencyLimit: 1, ...options }, params: [] };
  const call = (callId: string) =>
    dispatcher.enqueue(
      { callId, appId: "ap-1", fn: f, code: { dir: "/code/x", hash: "x", entry: "main.js" }, args: [] },
      {
        output: () => {},
        attempt: (n) => attempts.set(callId, [...(attempts.get(callId) ?? []), n]),
        finished: (outcome) => outcomes.set(callId, outcome),
      },
    );
  return { dispatcher, workers, outcomes, attempts, call };
}

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `c${from + i}`);

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test("short calls: once a few ended, a busy worker is sent the next ones ahead, and each call runs once, in order", () => {
  const h = setUp();
  const n = PREFETCH_DEPTH + 30; // more than the 8 measured and those sent ahead
  for (const id of ids(n)) h.call(id);
  const worker = h.workers[0];
  worker.ready();
  for (let i = 0; i < 8; i++) {
    expect(worker.queue).toHaveLength(1); // one at a time while the calls' length is unknown
    worker.finishOne();
  }
  expect(worker.queue).toHaveLength(1 + PREFETCH_DEPTH);
  while (worker.queue.length > 0) worker.finishOne();
  expect(worker.sent).toEqual(ids(n));
  expect([...h.outcomes.keys()]).toEqual(ids(n));
  expect([...h.outcomes.values()].every((o) => o.state === "succeeded")).toBe(true);
});

test("slow calls are never sent ahead", () => {
  const h = setUp();
  for (const id of ids(20)) h.call(id);
  const worker = h.workers[0];
  worker.ready();
  for (let i = 0; i < 19; i++) {
    expect(worker.queue).toHaveLength(1);
    worker.finishOne(50);
  }
  worker.finishOne(50);
  expect(h.outcomes.size).toBe(20);
});

test("a call cancelled while it waits on its worker is dropped there; the worker is not killed and runs the rest", () => {
  const h = setUp();
  for (const id of ids(20)) h.call(id);
  const worker = h.workers[0];
  worker.ready();
  for (let i = 0; i < 8; i++) worker.finishOne();
  expect(worker.queue).toContain("c15");
  expect(h.dispatcher.cancel("c15")).toBe(true);
  expect(worker.dropped).toEqual(["c15"]);
  expect(worker.killed).toBe(false);
  expect(h.outcomes.get("c15")).toMatchObject({ state: "cancelled", error: { name: "CallCancelledError" } });
  while (worker.queue.length > 0) worker.finishOne();
  expect(h.outcomes.size).toBe(20);
  expect([...h.outcomes.entries()].filter(([, o]) => o.state === "succeeded")).toHaveLength(19);
});

test("a worker that dies: its current call fails, the calls it held ahead run on the next worker without spending an attempt", async () => {
  const h = setUp();
  for (const id of ids(20)) h.call(id);
  const first = h.workers[0];
  first.ready();
  for (let i = 0; i < 8; i++) first.finishOne();
  const held = first.queue.slice(1);
  expect(held.length).toBeGreaterThan(0);
  first.exit("signal SIGKILL");
  expect(h.outcomes.get("c8")).toMatchObject({ state: "failed", error: { name: "WorkerCrashedError" } });
  const second = h.workers[1];
  second.ready();
  while (second.queue.length > 0) second.finishOne();
  expect(second.sent).toEqual(ids(11, 9));
  for (const id of held) {
    expect(h.outcomes.get(id)?.state).toBe("succeeded");
    expect(h.attempts.get(id)).toEqual([1]);
  }
});

test("the timeout of a call held ahead starts when its worker starts it", () => {
  const h = setUp({ timeout: 1 });
  for (const id of ids(12)) h.call(id);
  const worker = h.workers[0];
  worker.ready();
  for (let i = 0; i < 8; i++) worker.finishOne();
  expect(worker.queue).toEqual(ids(4, 8));
  worker.finishOne(900); // c8 took 0.9 s; c9 starts now
  worker.finishOne(900); // c9 took 0.9 s, under its 1 s
  expect(h.outcomes.get("c9")?.state).toBe("succeeded");
  jest.advanceTimersByTime(1_000); // c10 runs too long
  expect(h.outcomes.get("c10")?.state).toBe("timed_out");
  expect(worker.killed).toBe(true);
});

test("trivial calls get one worker, very short calls no more than cores; others get theirs once their first calls were measured", () => {
  const cores = os.availableParallelism();
  const trivial = setUp({ concurrencyLimit: cores + 4 });
  for (const id of ids(PREFETCH_DEPTH + 200)) trivial.call(id);
  trivial.workers[0].ready();
  for (let i = 0; i < 8; i++) trivial.workers[0].finishOne(0, 0.01);
  jest.advanceTimersByTime(20);
  expect(trivial.workers).toHaveLength(1);

  const short = setUp({ concurrencyLimit: cores + 4 });
  for (const id of ids(PREFETCH_DEPTH + 200)) short.call(id); // more than the first worker holds ahead
  short.workers[0].ready();
  expect(short.workers).toHaveLength(1); // its first calls are measured first
  for (let i = 0; i < 8; i++) short.workers[0].finishOne(0, 0.2);
  jest.advanceTimersByTime(20);
  expect(short.workers).toHaveLength(cores);

  const slow = setUp({ concurrencyLimit: cores + 4 });
  for (const id of ids(200)) slow.call(id);
  slow.workers[0].ready();
  expect(slow.workers).toHaveLength(1);
  jest.advanceTimersByTime(20); // no call ended yet: not short
  expect(slow.workers).toHaveLength(cores + 4);
});

test("very short calls, fewer than the 8 measured when the wait ended (the server was busy): still no more workers than cores", () => {
  const cores = os.availableParallelism();
  const h = setUp({ concurrencyLimit: cores + 4 });
  for (const id of ids(200)) h.call(id);
  h.workers[0].ready();
  h.workers[0].finishOne(0, 0.2); // one call measured, short
  jest.advanceTimersByTime(20);
  expect(h.workers).toHaveLength(cores);
});
