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
    // Each job's completion is listened for before it is added (by its id): job.waitUntilFinished
    // could miss a completion that came first, and wait forever.
    const waiting = new Map<string, () => void>();
    events.on("completed", ({ jobId }) => {
      waiting.get(jobId)?.();
      waiting.delete(jobId);
    });
    try {
      await events.waitUntilReady();
      const times: number[] = [];
      for (let i = 0; i < trips + 20; i++) {
        const jobId = `${name}-${i}`;
        const start = process.hrtime.bigint();
        const completed = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`BullMQ job ${jobId} did not complete within 10 s`)), 10_000);
          waiting.set(jobId, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        await queue.add("echo", { x: i }, { jobId, removeOnComplete: true });
        await completed;
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
      await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`BullMQ did not finish ${n} jobs within 120 s`)), 120_000).unref())]);
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
