import type { Encoded, WorkerConfig } from "@stubrun/protocol";
import type { WorkerEvents, WorkerProcess } from "../src/dispatcher/worker-process";
import { WorkerWatch, type WorkerPoolReport } from "../src/node/worker-watch";

/**
 * What a worker node tells the server of its workers (`node.workers`): per function and code,
 * how many are idle and whether one was ever ready; sent when that changes, once per turn.
 */

class FakeWorker implements WorkerProcess {
  state: WorkerProcess["state"] = "starting";
  currentCallId: string | undefined;
  everReady = false;
  startFailureReported = false;
  idleSince = 0;
  readonly exited = Promise.resolve();
  readonly id = "wk-1";
  run(callId: string, _args: Encoded[]): void {
    this.state = "busy";
    this.currentCallId = callId;
  }
  shutdown(): void {
    this.state = "stopping";
  }
  kill(): void {
    this.state = "stopping";
  }
}

const CONFIG: WorkerConfig = { workerId: "wk-1", codeDir: "/home/n/code/0123456789abcdef0123456789abcdef", entry: "main.js", className: "A", methodName: "f" };
const turn = () => new Promise((resolve) => setImmediate(resolve));
const pool = { appId: "ap-1", codeHash: "0123456789abcdef0123456789abcdef", functionName: "A.f" };

/** A watch over one fake worker, with the dispatcher's side of its events (a ready or done worker is idle). */
function watched() {
  const reports: WorkerPoolReport[] = [];
  const fake = { events: undefined as unknown as WorkerEvents, worker: new FakeWorker() };
  const watch = new WorkerWatch(
    (r) => reports.push(r),
    (_config, _env, given) => {
      fake.events = given;
      return fake.worker;
    },
  );
  const dispatcherSide: WorkerEvents = {
    message: (w, m) => {
      if (m.type === "ready" || m.type === "done") w.state = "idle";
    },
    rawOutput: () => undefined,
    exit: (w) => (w.state = "exited"),
  };
  const worker = watch.factory(CONFIG, { STUBRUN_APP_ID: "ap-1" }, dispatcherSide, { memoryMb: 128 });
  return { reports, watch, worker, fake };
}

test("a worker that exits before it is ready (its code throws on import) tells nothing", async () => {
  const { reports, watch, fake } = watched();
  await turn();
  fake.events.exit(fake.worker, "code 1");
  await turn();
  expect(reports).toEqual([]);
  expect(watch.hasIdle("ap-1", pool.codeHash, "A.f")).toBe(false);
});

test("reports idle counts and readiness as the dispatcher moves its workers", async () => {
  const { reports, watch, worker: w, fake } = watched();
  const { events, worker } = fake;
  events.message(worker, { type: "ready" });
  await turn();
  expect(reports).toEqual([{ ...pool, idle: 1, ready: true }]);
  expect(watch.hasIdle("ap-1", pool.codeHash, "A.f")).toBe(true);

  // Two changes in one turn (a call ends, the next starts at once) tell nothing new.
  w.run("fc-1", []);
  events.message(worker, { type: "done", callId: "fc-1", ok: true, value: null } as never);
  w.run("fc-2", []);
  await turn();
  expect(reports).toEqual([{ ...pool, idle: 1, ready: true }, { ...pool, idle: 0, ready: true }]);

  events.message(worker, { type: "done", callId: "fc-2", ok: true, value: null } as never);
  await turn();
  expect(reports.at(-1)).toEqual({ ...pool, idle: 1, ready: true });

  // What a server that (re)starts is told when the node connects to it.
  expect(watch.all()).toEqual([{ ...pool, idle: 1, ready: true }]);

  w.shutdown(1000);
  events.exit(worker, "code 0");
  await turn();
  expect(reports.at(-1)).toEqual({ ...pool, idle: 0, ready: true });
  expect(watch.hasIdle("ap-1", pool.codeHash, "A.f")).toBe(false);
});
