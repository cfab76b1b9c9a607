/**
 * The peer: the same trivial function as BullMQ jobs on a Redis this process starts on a free
 * port, the Worker in a process of its own (concurrency 8), as a user would run it beside their app.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { Queue, QueueEvents } from "bullmq";
import { RedisServer } from "../../test/e2e/redis-server";
import { msSince, quantile } from "./stats";

const ROOT = path.resolve(__dirname, "../..");
/** The Worker process: returns each job's input; says "ready" once it listens, "done" after `n` jobs. */
const WORKER = `
const { Worker } = require("bullmq");
const [port, name, n] = process.argv.slice(1);
let done = 0;
const worker = new Worker(name, async (job) => job.data.x, { connection: { host: "127.0.0.1", port: Number(port), maxRetriesPerRequest: null }, concurrency: 8 });
worker.on("completed", () => { if (++done === Number(n)) console.log("done"); });
worker.waitUntilReady().then(() => console.log("ready"));
process.on("SIGTERM", () => worker.close().then(() => process.exit(0)));
`;

/** BullMQ on its own Redis; `close()` stops both. */
export class BullmqPeer {
  private seq = 0;

  private constructor(private readonly redis: RedisServer) {}

  static async start(): Promise<BullmqPeer> {
    return new BullmqPeer(await RedisServer.start());
  }

  private get connection() {
    return { host: "127.0.0.1", port: this.redis.port, maxRetriesPerRequest: null };
  }

  /** Starts a Worker process for queue `name` and waits until it listens. */
  private async worker(name: string, n: number): Promise<{ child: ChildProcess; done: Promise<void> }> {
    const child = spawn(process.execPath, ["-e", WORKER, String(this.redis.port), name, String(n)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let said = "";
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        said += chunk;
        if (said.includes("ready")) resolve();
        if (said.includes("done")) markDone();
      });
      child.once("exit", (code) => reject(new Error(`the BullMQ worker process exited with ${code}`)));
    });
    return { child, done };
  }

  private async stopWorker(child: ChildProcess): Promise<void> {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  /** The p50, in ms, of `trips` job round trips in a row (add, then wait until it finished). */
  async roundTripP50(trips: number): Promise<number> {
    const name = `rt-${++this.seq}`;
    const { child } = await this.worker(name, Number.MAX_SAFE_INTEGER);
    const queue = new Queue(name, { connection: this.connection });
    const events = new QueueEvents(name, { connection: this.connection });
    try {
      await events.waitUntilReady();
      const times: number[] = [];
      for (let i = 0; i < trips + 20; i++) {
        const start = process.hrtime.bigint();
        const job = await queue.add("echo", { x: i }); // kept until obliterate: waitUntilFinished reads it
        await job.waitUntilFinished(events);
        if (i >= 20) times.push(msSince(start));
      }
      return quantile(times, 0.5);
    } finally {
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await this.stopWorker(child);
    }
  }

  /** Jobs/s of `n` jobs added at once (addBulk) until the Worker finished them all. */
  async throughput(n: number): Promise<number> {
    const name = `tp-${++this.seq}`;
    const { child, done } = await this.worker(name, n);
    const queue = new Queue(name, { connection: this.connection });
    try {
      const start = process.hrtime.bigint();
      for (let from = 0; from < n; from += 5_000) {
        const size = Math.min(5_000, n - from);
        await queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: "echo", data: { x: from + i }, opts: { removeOnComplete: true } })));
      }
      await done;
      return n / (msSince(start) / 1000);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await this.stopWorker(child);
    }
  }

  async close(): Promise<void> {
    await this.redis.stop();
  }
}
