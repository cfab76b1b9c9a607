import { DEFAULT_FUNCTION_OPTIONS, RequestRefusedError, type Encoded, type FunctionManifest, type FunctionOptionsManifest, type WorkerConfig } from "@stubrun/protocol";
import { DEFAULT_LIMITS } from "../src/config/limits";
import type { CallOutcome, CallRequest } from "../src/dispatcher/dispatcher";
import { LocalDispatcher, type DispatcherLimits, type LocalDispatcherOptions } from "../src/dispatcher/local-dispatcher";
import { MAX_TIMER_MS } from "../src/dispatcher/long-timer";
import type { WorkerEvents, WorkerProcess } from "../src/dispatcher/worker-process";

/**
 * The LocalDispatcher on its own, with fake workers and jest's fake timers: timeouts, retries
 * and their backoff, idle exit, long timers, the limits on workers and queued calls, workers
 * that cannot start, keepWarm restarts and output outside calls. No process is started.
 */

/** A worker that does what the test tells it to, when it tells it. */
class FakeWorker implements WorkerProcess {
  state: WorkerProcess["state"] = "starting";
  currentCallId: string | undefined;
  everReady = false;
  startFailureReported = false;
  idleSince = 0;
  readonly exited: Promise<void>;
  readonly runs: string[] = [];
  shutdownAsked = false;
  killed = false;
  /** Makes `run` throw, as sending a value JSON cannot write does. */
  refuseRuns = false;
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
    if (this.refuseRuns) throw new RangeError("Maximum call stack size exceeded");
    this.runs.push(callId);
    this.state = "busy";
    this.currentCallId = callId;
  }

  shutdown(): void {
    if (this.state === "exited" || this.state === "stopping") return;
    this.state = "stopping";
    this.shutdownAsked = true;
  }

  kill(): void {
    if (this.state === "exited") return;
    this.killed = true;
    void Promise.resolve().then(() => this.exit("signal SIGKILL")); // a real exit comes later too
  }

  ready(): void {
    this.events.message(this, { type: "ready" });
  }

  succeed(value: Encoded): void {
    this.events.message(this, { type: "done", callId: this.currentCallId as string, ok: true, value });
  }

  /** Ends one of the calls it runs (it may run several: concurrentInputs). */
  finishCall(callId: string, value: Encoded): void {
    this.events.message(this, { type: "done", callId, ok: true, value });
  }

  fail(message: string): void {
    this.events.message(this, { type: "done", callId: this.currentCallId as string, ok: false, error: { name: "Error", message } });
  }

  print(data: string): void {
    this.events.message(this, { type: "output", callId: null, stream: "stdout", data });
  }

  exit(description = "code 0"): void {
    if (this.state === "exited") return;
    this.state = "exited";
    this.events.exit(this, description);
    this.markExited();
  }
}

interface Harness {
  dispatcher: LocalDispatcher;
  workers: FakeWorker[];
  outcomes: Map<string, CallOutcome>;
  attempts: Map<string, number[]>;
  outside: string[];
  notes: string[];
  call(callId: string, fn: FunctionManifest): void;
}

function setUp(
  limits: Partial<DispatcherLimits> = {},
  env: (appId: string, fn: FunctionManifest) => NodeJS.ProcessEnv = () => ({}),
  extra: Pick<LocalDispatcherOptions, "cpus"> = {},
): Harness {
  const workers: FakeWorker[] = [];
  const outcomes = new Map<string, CallOutcome>();
  const attempts = new Map<string, number[]>();
  const outside: string[] = [];
  const notes: string[] = [];
  const dispatcher = new LocalDispatcher(
    env,
    (_appId, _fn, _stream, data) => outside.push(data),
    {
      limits: { ...DEFAULT_LIMITS, ...limits },
      note: (_appId, line) => notes.push(line),
      startWorker: (config, _env, events) => {
        const worker = new FakeWorker(config, events);
        workers.push(worker);
        return worker;
      },
      ...extra,
    },
  );
  const call = (callId: string, fn: FunctionManifest) => {
    dispatcher.admit("ap-1");
    dispatcher.enqueue(request(callId, fn), {
      output: () => {},
      attempt: (n) => attempts.set(callId, [...(attempts.get(callId) ?? []), n]),
      finished: (outcome) => outcomes.set(callId, outcome),
    });
  };
  return { dispatcher, workers, outcomes, attempts, outside, notes, call };
}

function fn(name: string, options: Partial<FunctionOptionsManifest> = {}): FunctionManifest {
  const [className, methodName] = name.split(".");
  return { name, className, methodName, kind: "function", options: { ...DEFAULT_FUNCTION_OPTIONS, ...options }, params: [] };
}

function request(callId: string, f: FunctionManifest): CallRequest {
  return { callId, appId: "ap-1", fn: f, code: { dir: "/code/x", hash: "x", entry: "main.js" }, args: [] };
}

/** Lets promise callbacks (a fake worker's exit after a kill) run. */
const flush = () => new Promise<void>((resolve) => jest.requireActual<typeof import("timers")>("timers").setImmediate(resolve));

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test("a call that outlives its timeout ends timed_out and its worker is killed", async () => {
  const h = setUp();
  h.call("c1", fn("A.f", { timeout: 5 }));
  h.workers[0].ready();
  expect(h.workers[0].runs).toEqual(["c1"]);
  jest.advanceTimersByTime(4_999);
  expect(h.outcomes.has("c1")).toBe(false);
  jest.advanceTimersByTime(1);
  expect(h.outcomes.get("c1")).toMatchObject({ state: "timed_out", error: { name: "FunctionTimeoutError", message: "A.f timed out after 5 s (its timeout option)" } });
  expect(h.workers[0].killed).toBe(true);
});

test("each set of class parameter values has workers of its own, made with those values", async () => {
  const h = setUp();
  const f = fn("A.f");
  const finished = (id: string) => ({ output: () => {}, finished: (o: CallOutcome) => h.outcomes.set(id, o) });
  h.dispatcher.enqueue({ ...request("c1", f), params: { size: "large", n: 1 } }, finished("c1"));
  h.workers[0].ready();
  h.dispatcher.enqueue({ ...request("c2", f), params: { size: "small" } }, finished("c2"));
  h.dispatcher.enqueue({ ...request("c3", f) }, finished("c3"));
  expect(h.workers.map((w) => w.config.params)).toEqual([{ size: "large", n: 1 }, { size: "small" }, undefined]);
  h.workers[0].succeed(1);
  // The same values in another order: the first worker, now idle, serves it.
  h.dispatcher.enqueue({ ...request("c4", f), params: { n: 1, size: "large" } }, finished("c4"));
  expect(h.workers[0].runs).toEqual(["c1", "c4"]);
  expect(h.workers).toHaveLength(3);
});
test("a timeout longer than 2^31 ms waits its whole length, not 1 ms", async () => {
  const h = setUp();
  const days30 = 30 * 86_400;
  h.call("c1", fn("A.f", { timeout: days30 }));
  h.workers[0].ready();
  jest.advanceTimersByTime(MAX_TIMER_MS + 1_000);
  expect(h.outcomes.has("c1")).toBe(false);
  jest.advanceTimersByTime(days30 * 1000 - MAX_TIMER_MS - 1_001);
  expect(h.outcomes.has("c1")).toBe(false);
  jest.advanceTimersByTime(1);
  expect(h.outcomes.get("c1")?.state).toBe("timed_out");
});

test("failed attempts are retried after growing delays, then the call fails", async () => {
  const h = setUp();
  h.call("c1", fn("A.f", { retries: { maxRetries: 2, initialDelayMs: 1_000, backoffCoefficient: 3, maxDelayMs: 60_000 } }));
  const worker = h.workers[0];
  worker.ready();
  worker.fail("first");
  expect(h.attempts.get("c1")).toEqual([1]);
  jest.advanceTimersByTime(999);
  expect(worker.runs).toEqual(["c1"]);
  jest.advanceTimersByTime(1);
  expect(worker.runs).toEqual(["c1", "c1"]); // the idle worker takes the retry
  worker.fail("second");
  jest.advanceTimersByTime(2_999);
  expect(worker.runs).toHaveLength(2);
  jest.advanceTimersByTime(1);
  expect(h.attempts.get("c1")).toEqual([1, 2, 3]);
  worker.fail("third");
  expect(h.outcomes.get("c1")).toMatchObject({ state: "failed", error: { message: "third" } });
});

test("an idle worker exits after containerIdleTimeout, unless a call came meanwhile", async () => {
  const h = setUp();
  const f = fn("A.f", { containerIdleTimeout: 60 });
  h.call("c1", f);
  const worker = h.workers[0];
  worker.ready();
  worker.succeed(1);
  jest.advanceTimersByTime(59_000);
  h.call("c2", f);
  expect(worker.runs).toEqual(["c1", "c2"]);
  worker.succeed(2);
  jest.advanceTimersByTime(59_999);
  expect(worker.shutdownAsked).toBe(false);
  jest.advanceTimersByTime(1);
  expect(worker.shutdownAsked).toBe(true);
  expect(h.outcomes.get("c2")).toEqual({ state: "succeeded", value: 2 });
});

test("maxWorkers: calls wait for a slot; an idle worker of another function makes room", async () => {
  const h = setUp({ maxWorkers: 2 });
  const a = fn("A.f");
  const b = fn("B.g");
  for (const id of ["a1", "a2", "a3"]) h.call(id, a);
  expect(h.workers).toHaveLength(1); // one at a time until a worker was ready
  h.workers[0].ready();
  expect(h.workers).toHaveLength(2);
  h.workers[1].ready();
  expect(h.workers.map((w) => w.runs)).toEqual([["a1"], ["a2"]]);
  h.workers[0].succeed(1);
  expect(h.workers[0].runs).toEqual(["a1", "a3"]);
  h.workers[0].succeed(3);
  h.workers[1].succeed(2);
  // Both slots hold idle workers of A.f: a call of B.g lets one go and starts its own once it has.
  h.call("b1", b);
  expect(h.workers).toHaveLength(2);
  const leaving = h.workers.find((w) => w.shutdownAsked) as FakeWorker;
  expect(leaving).toBeDefined();
  leaving.exit();
  expect(h.workers).toHaveLength(3);
  h.workers[2].ready();
  expect(h.workers[2].runs).toEqual(["b1"]);
});

test("maxQueuedCallsPerApp: a call past it is refused, naming the limit and how to raise it", () => {
  const h = setUp({ maxQueuedCallsPerApp: 3 });
  const f = fn("A.f", { concurrencyLimit: 1 });
  for (const id of ["c1", "c2", "c3"]) h.call(id, f);
  expect(() => h.call("c4", f)).toThrow(RequestRefusedError);
  expect(() => h.call("c4", f)).toThrow(/limits\.maxQueuedCallsPerApp = 3.*config\.json/);
  h.workers[0].ready(); // c1 runs: two wait, so one more fits
  h.call("c4", f);
  expect(() => h.call("c5", f)).toThrow(RequestRefusedError);
});

test("while no worker was ever ready, one starts at a time, and its start error fails every waiting call", async () => {
  const h = setUp();
  const f = fn("A.f");
  for (let i = 0; i < 20; i++) h.call(`c${i}`, f);
  expect(h.workers).toHaveLength(1);
  h.workers[0].exit("code 1");
  expect(h.outcomes.size).toBe(20);
  for (const outcome of h.outcomes.values()) expect(outcome).toMatchObject({ state: "failed", error: { name: "WorkerStartError" } });
  expect(h.workers).toHaveLength(1);
});

test("a starting worker killed by a signal (from outside) fails only the call that waited for it", () => {
  const h = setUp();
  const f = fn("A.f");
  for (let i = 0; i < 5; i++) h.call(`c${i}`, f);
  h.workers[0].exit("signal SIGKILL");
  expect([...h.outcomes.keys()]).toEqual(["c0"]);
  expect(h.outcomes.get("c0")).toMatchObject({ state: "failed", error: { name: "WorkerStartError" } });
  expect(h.workers).toHaveLength(2); // the others wait for the next worker
});

test("keepWarm workers that die at once are restarted with a growing delay, noted once", async () => {
  const h = setUp();
  h.dispatcher.keepWarm("ap-1", fn("A.f", { keepWarm: 2 }), request("", fn("A.f")).code);
  expect(h.workers).toHaveLength(1);
  h.workers[0].exit("code 1");
  jest.advanceTimersByTime(0);
  expect(h.workers).toHaveLength(2); // the first failure is replaced at once
  h.workers[1].exit("code 1");
  jest.advanceTimersByTime(1_999);
  expect(h.workers).toHaveLength(2);
  jest.advanceTimersByTime(1);
  expect(h.workers).toHaveLength(3);
  h.workers[2].exit("code 1");
  jest.advanceTimersByTime(3_999);
  expect(h.workers).toHaveLength(3);
  jest.advanceTimersByTime(1);
  expect(h.workers).toHaveLength(4);
  expect(h.notes).toHaveLength(1);
  expect(h.notes[0]).toContain("keepWarm workers of A.f keep exiting");
  h.workers[3].ready(); // it starts now: the second warm worker follows
  expect(h.workers).toHaveLength(5);
});

test("a call that cannot be sent to its worker fails alone; the worker serves the next", () => {
  const h = setUp();
  const f = fn("A.f", { concurrencyLimit: 1 });
  h.call("c1", f);
  h.call("c2", f);
  const worker = h.workers[0];
  worker.refuseRuns = true;
  worker.ready();
  expect(h.outcomes.get("c1")).toMatchObject({ state: "failed", error: { name: "UncarriableValueError", message: expect.stringContaining("could not be sent to its worker") } });
  expect(h.outcomes.get("c2")?.state).toBe("failed");
  worker.refuseRuns = false;
  h.call("c3", f);
  expect(worker.runs).toEqual(["c3"]);
});

test("cancel and stopApp end calls and kill or stop workers; the exit counts as no failure", async () => {
  const h = setUp();
  const f = fn("A.f", { keepWarm: 1 });
  h.call("c1", f);
  h.workers[0].ready();
  expect(h.dispatcher.cancel("c1")).toBe(true);
  expect(h.outcomes.get("c1")?.state).toBe("cancelled");
  await flush();
  expect(h.workers[0].state).toBe("exited");
  expect(h.notes).toEqual([]);
  const stopping = h.dispatcher.stopApp("ap-1");
  for (const w of h.workers) w.exit();
  await stopping;
  expect(h.dispatcher.runningTasks("ap-1")).toBe(0);
});

test("output outside calls is capped per worker, then one note", () => {
  const h = setUp({ maxOutputBytesOutsideCalls: 10 });
  h.call("c1", fn("A.f"));
  const worker = h.workers[0];
  worker.print("12345");
  worker.print("é7890abc"); // "é" is two bytes: 5 + 2 + 3 fit
  worker.print("more");
  expect(h.outside[0]).toBe("12345");
  expect(h.outside[1]).toBe("é789");
  expect(h.outside[2]).toContain("limits.maxOutputBytesOutsideCalls");
  expect(h.outside).toHaveLength(3);
});

test("a worker's environment is asked for per function; one that cannot be made fails the waiting calls, and keepWarm stops trying", () => {
  const asked: string[] = [];
  const h = setUp({}, (_appId, f) => {
    asked.push(f.name);
    if (f.name === "A.gone") throw new Error('secret "s" does not exist on this server');
    return { K: f.name };
  });
  h.call("c1", fn("A.f"));
  h.call("c2", fn("A.gone", { keepWarm: 2 }));
  expect(asked).toEqual(["A.f", "A.gone"]);
  expect(h.workers).toHaveLength(1);
  // The call fails on the next turn, after its client has its id.
  expect(h.outcomes.get("c2")).toBeUndefined();
  jest.runOnlyPendingTimers(); // the next turn (a faked setImmediate)
  expect(h.outcomes.get("c2")).toMatchObject({ state: "failed", error: { name: "WorkerStartError", message: 'the worker for A.gone cannot start: secret "s" does not exist on this server' } });
  h.workers[0].ready();
  expect(h.workers[0].runs).toEqual(["c1"]);
});

test("concurrentInputs: one worker takes up to N calls at once, and the next waiting call as each ends", async () => {
  const h = setUp();
  const f = fn("A.io", { concurrentInputs: 3, concurrencyLimit: 1 });
  for (const id of ["c1", "c2", "c3", "c4", "c5"]) h.call(id, f);
  expect(h.workers).toHaveLength(1);
  expect(h.workers[0].config.concurrentInputs).toBe(3);
  h.workers[0].ready();
  expect(h.workers[0].runs).toEqual(["c1", "c2", "c3"]);
  h.workers[0].finishCall("c2", 2);
  expect(h.outcomes.get("c2")).toEqual({ state: "succeeded", value: 2 });
  expect(h.workers[0].runs).toEqual(["c1", "c2", "c3", "c4"]);
  h.workers[0].finishCall("c2", 2); // a repeated done changes nothing
  expect(h.workers[0].runs).toHaveLength(4);
  for (const id of ["c1", "c3", "c4"]) h.workers[0].finishCall(id, 0);
  expect(h.workers[0].runs).toEqual(["c1", "c2", "c3", "c4", "c5"]);
  h.workers[0].finishCall("c5", 5);
  expect(h.workers[0].state).toBe("idle");
  expect(h.workers).toHaveLength(1);
});

test("concurrentInputs: a call that times out on a shared worker ends alone; the worker drains, then is killed", async () => {
  const h = setUp();
  const slow = fn("A.io", { concurrentInputs: 4, concurrencyLimit: 1, timeout: 5 });
  h.call("c1", slow);
  h.workers[0].ready();
  jest.advanceTimersByTime(3_000);
  h.call("c2", slow);
  expect(h.workers[0].runs).toEqual(["c1", "c2"]);
  jest.advanceTimersByTime(2_000);
  expect(h.outcomes.get("c1")?.state).toBe("timed_out");
  expect(h.outcomes.has("c2")).toBe(false);
  expect(h.workers[0].killed).toBe(false);
  // It takes no new call while draining: c3 waits (concurrencyLimit 1) for the worker to go.
  h.call("c3", slow);
  expect(h.workers[0].runs).toEqual(["c1", "c2"]);
  h.workers[0].finishCall("c2", 2);
  expect(h.outcomes.get("c2")).toEqual({ state: "succeeded", value: 2 });
  expect(h.workers[0].killed).toBe(true);
  await flush();
  expect(h.workers).toHaveLength(2);
  h.workers[1].ready();
  expect(h.workers[1].runs).toEqual(["c3"]);
});

test("concurrentInputs: a worker that dies fails every call it ran; cancelling one leaves the others running", async () => {
  const h = setUp();
  const f = fn("A.io", { concurrentInputs: 3 });
  for (const id of ["c1", "c2", "c3"]) h.call(id, f);
  h.workers[0].ready();
  expect(h.dispatcher.cancel("c1")).toBe(true);
  expect(h.outcomes.get("c1")?.state).toBe("cancelled");
  expect(h.workers[0].killed).toBe(false);
  h.workers[0].exit("signal SIGSEGV");
  for (const id of ["c2", "c3"]) {
    expect(h.outcomes.get(id)).toMatchObject({ state: "failed", error: { name: "WorkerCrashedError", message: "A.io: the worker exited with signal SIGSEGV while running the call" } });
  }
});

describe("cpu", () => {
  test("workers of functions with cpu start only while their shares fit the cores; others are not counted", async () => {
    const h = setUp({}, () => ({}), { cpus: 2 });
    const heavy = fn("A.heavy", { cpu: 1.5, concurrencyLimit: 4 });
    const half = fn("A.half", { cpu: 0.5 });
    h.call("c1", heavy);
    h.workers[0].ready();
    h.call("c2", heavy);
    h.call("c3", half);
    h.call("c4", fn("A.plain"));
    // 1.5 + 0.5 fill the 2 cores: the second heavy call waits; the function without cpu starts anyway.
    expect(h.workers.map((w) => w.config.methodName)).toEqual(["heavy", "half", "plain"]);
    h.workers[1].ready();
    h.workers[1].succeed(1);
    h.workers[1].exit(); // its 0.5 is free, but 1.5 more does not fit yet
    expect(h.workers).toHaveLength(3);
    h.workers[0].succeed(2); // the heavy worker takes the waiting call itself
    expect(h.workers[0].runs).toEqual(["c1", "c2"]);
    expect(h.workers).toHaveLength(3);
  });

  test("idle workers holding cores are let go for a function waiting for them; idle workers without cpu stay", async () => {
    const h = setUp({}, () => ({}), { cpus: 2 });
    h.call("c1", fn("A.plain"));
    h.call("c2", fn("A.two", { cpu: 2 }));
    h.workers[0].ready();
    h.workers[1].ready();
    h.workers[0].succeed(1);
    h.workers[1].succeed(2); // both idle now; A.two holds both cores
    h.call("c3", fn("A.one", { cpu: 1 }));
    expect(h.workers).toHaveLength(2); // no core free: it waits
    expect(h.workers[1].shutdownAsked).toBe(true); // the idle A.two goes
    expect(h.workers[0].shutdownAsked).toBe(false); // the idle A.plain holds no core: it stays
    h.workers[1].exit();
    expect(h.workers.map((w) => w.config.methodName)).toEqual(["plain", "two", "one"]);
  });

  test("a worker whose cpu is more than the machine's cores fails its call saying so, rather than waiting forever", async () => {
    const h = setUp({}, () => ({}), { cpus: 2 });
    h.call("c1", fn("A.f", { cpu: 4 }));
    jest.runOnlyPendingTimers(); // the next turn (a faked setImmediate)
    expect(h.outcomes.get("c1")).toMatchObject({ state: "failed", error: { message: expect.stringContaining("it asks for cpu 4, more than the 2 cores this machine shares out") } });
  });

  test("a worker that died over its memory fails its call naming the limit", async () => {
    const h = setUp();
    h.call("c1", fn("A.f", { memory: 256 }));
    h.workers[0].ready();
    Object.assign(h.workers[0], { overMemory: true });
    h.workers[0].exit("signal SIGKILL");
    expect(h.outcomes.get("c1")).toMatchObject({ state: "failed", error: { message: "A.f: the worker used more than its memory of 256 MiB (memory option) while running the call, and was killed; raise the function's memory, or make it use less" } });
  });
});
