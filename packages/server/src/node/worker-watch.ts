import type { Encoded } from "@stubrun/protocol";
import path from "node:path";
import { forkWorker, type WorkerFactory, type WorkerProcess } from "../dispatcher/worker-process";

/** A node's workers of one function of one app's code, as the server hears of them (`node.workers`). */
export interface WorkerPoolReport {
  appId: string;
  codeHash: string;
  functionName: string;
  /** Workers ready and not running a call. */
  idle: number;
  /** Whether a worker of this code ever became ready on this node (the code imports and its enter hook passes). */
  ready: boolean;
}

interface Watched {
  key: string;
  report: Omit<WorkerPoolReport, "idle" | "ready">;
  workers: Set<WorkerProcess>;
  ready: boolean;
  /** As last told. */
  told: { idle: number; ready: boolean };
}

/**
 * Watches the worker processes a node's LocalDispatcher starts (by wrapping its worker factory),
 * and reports, per function and code, how many are idle and whether one was ever ready, each time
 * that changes. The server routes a call to a node with an idle worker of its function (as the
 * embedded pool reuses a warm worker), and starts one worker across all nodes until one was ready
 * (as the embedded pool does), from these reports.
 */
export class WorkerWatch {
  private readonly pools = new Map<string, Watched>();
  private scheduled = false;

  constructor(
    private readonly send: (report: WorkerPoolReport) => void,
    private readonly inner: WorkerFactory = forkWorker,
  ) {}

  /** The factory to give the LocalDispatcher. */
  readonly factory: WorkerFactory = (config, env, events, options) => {
    const appId = env.STUBRUN_APP_ID ?? "";
    const codeHash = path.basename(config.codeDir);
    const functionName = `${config.className}.${config.methodName}`;
    const key = `${appId}\0${codeHash}\0${functionName}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = { key, report: { appId, codeHash, functionName }, workers: new Set(), ready: false, told: { idle: 0, ready: false } };
      this.pools.set(key, pool);
    }
    const watched = pool;
    const worker = this.inner(
      config,
      env,
      {
        message: (w, message) => {
          if (message.type === "ready") watched.ready = true;
          events.message(w, message);
          this.changed();
        },
        rawOutput: events.rawOutput,
        exit: (w, description) => {
          watched.workers.delete(w);
          events.exit(w, description);
          this.changed();
        },
      },
      options,
    );
    watched.workers.add(worker);
    // The dispatcher moves a worker between states around these calls: report after each.
    const run = worker.run.bind(worker);
    const shutdown = worker.shutdown.bind(worker);
    const kill = worker.kill.bind(worker);
    worker.run = (callId: string, args: Encoded[]) => {
      run(callId, args);
      this.changed();
    };
    worker.shutdown = (graceMs: number) => {
      shutdown(graceMs);
      this.changed();
    };
    worker.kill = () => {
      kill();
      this.changed();
    };
    return worker;
  };

  /** Whether this node has an idle worker of the function of this code. */
  hasIdle(appId: string, codeHash: string, functionName: string): boolean {
    const pool = this.pools.get(`${appId}\0${codeHash}\0${functionName}`);
    if (!pool) return false;
    for (const w of pool.workers) if (w.state === "idle") return true;
    return false;
  }

  /** Every pool's state as last told (for a server the node connects to again). */
  all(): WorkerPoolReport[] {
    return [...this.pools.values()].filter((pool) => pool.told.ready || pool.told.idle > 0).map((pool) => ({ ...pool.report, ...pool.told }));
  }

  /** Forgets an app's pools that have no worker left (the app stopped here). */
  forget(appId: string): void {
    for (const [key, pool] of this.pools) if (pool.report.appId === appId && pool.workers.size === 0) this.pools.delete(key);
  }

  /** Reports what changed, once the dispatcher's synchronous work of this turn is done. */
  private changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const pool of this.pools.values()) {
        let idle = 0;
        for (const w of pool.workers) if (w.state === "idle") idle++;
        if (idle === pool.told.idle && pool.ready === pool.told.ready) continue;
        pool.told = { idle, ready: pool.ready };
        this.send({ ...pool.report, idle, ready: pool.ready });
      }
    });
  }
}
