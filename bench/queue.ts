/**
 * Queue mode's figures (issue 10), part of `npm run bench` (`BENCH_QUICK=1`: fewer calls, for CI):
 * throughput of a function that sleeps 100 ms on 1 node and on 2 nodes of 4 slots each (it should
 * double), once it has a worker started on each slot (cold starts are their own figure: inside a
 * 2-second window, the 7 of 2 nodes weighed twice the 3 of 1 node, and no scaling could make that
 * x2), and a `.map` of 20,000 trivial calls through the queue, next to the embedded
 * dispatcher and next to plain BullMQ jobs (addBulk, one Worker of concurrency 8, no stubrun).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Queue, Worker } from "bullmq";
import { TestServer, waitUntil } from "../test/e2e/harness";
import { RedisServer } from "../test/e2e/redis-server";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "packages/stubrun/bin/stubrun.js");
const QUICK = process.env.BENCH_QUICK === "1";
const MAP_CALLS = QUICK ? 2_000 : 20_000;
const SLEEPY_CALLS = QUICK ? 40 : 160;
/** Each node's slots (`--concurrency`). */
const SLOTS = 4;

/** Calls/s of a `.map` of `n` calls of `what`, once `warm` calls at once started its workers (one per slot of the nodes). */
function calls(server: TestServer, what: string, n: number, warm = 1): number {
  const out = execFileSync(process.execPath, [BIN, "-q", "bench/queue-calls.bench.ts", "--what", what, "--n", String(n), "--warm", String(warm)], { cwd: ROOT, env: server.env, encoding: "utf8" });
  return (JSON.parse(out.trim().split("\n").pop() as string) as { callsPerSecond: number }).callsPerSecond;
}

function startNode(server: TestServer, redis: RedisServer): { child: ChildProcess; home: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-bench-node-"));
  const env = { ...process.env, STUBRUN_HOME: home, STUBRUN_TOKEN: server.token };
  const child = spawn(process.execPath, [BIN, "worker", "--server", server.url, "--queue", redis.url, "--concurrency", String(SLOTS)], { env, stdio: "ignore" });
  return { child, home };
}

async function stopNode(node: { child: ChildProcess; home: string }): Promise<void> {
  const exited = new Promise((resolve) => node.child.once("exit", resolve));
  node.child.kill("SIGTERM");
  await exited;
  fs.rmSync(node.home, { recursive: true, force: true });
}

async function nodesConnected(server: TestServer, count: number): Promise<void> {
  await waitUntil(async () => ((await (await server.api("/api/nodes")).json()) as { nodes: unknown[] }).nodes.length >= count, { what: `${count} nodes` });
}

/** Calls/s of `n` plain BullMQ jobs that return their input: the floor of what a queue costs. */
async function plainBullmq(redis: RedisServer, n: number): Promise<number> {
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  const queue = new Queue("bench-plain", { connection });
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker("bench-plain", async (job) => job.data.x, { connection, concurrency: 8 });
  worker.on("completed", () => ++done === n && finish());
  const start = process.hrtime.bigint();
  await queue.addBulk(Array.from({ length: n }, (_, x) => ({ name: "echo", data: { x }, opts: { removeOnComplete: true } })));
  await finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return n / seconds;
}

/** Runs the figures and returns their rows: figure, measured, beside it, target. */
export async function queueFigures(): Promise<[string, string, string, string][]> {
  const redis = await RedisServer.start();
  const embedded = await TestServer.start({ args: [] });
  const queued = await TestServer.start({ args: ["--queue", redis.url] });
  const nodes: { child: ChildProcess; home: string }[] = [];
  try {
    const embeddedMap = calls(embedded, "echo", MAP_CALLS);
    nodes.push(startNode(queued, redis));
    await nodesConnected(queued, 1);
    const oneNode = calls(queued, "sleepy", SLEEPY_CALLS, SLOTS);
    nodes.push(startNode(queued, redis));
    await nodesConnected(queued, 2);
    const twoNodes = calls(queued, "sleepy", SLEEPY_CALLS, 2 * SLOTS);
    const queueMap = calls(queued, "echo", MAP_CALLS);
    const plain = await plainBullmq(redis, MAP_CALLS);
    return [
      [`${SLEEPY_CALLS} calls sleeping 100 ms, 1 node of 4 slots (workers started)`, `${oneNode.toFixed(1)} calls/s`, "ideal 40 calls/s", ""],
      [`${SLEEPY_CALLS} calls sleeping 100 ms, 2 nodes of 4 slots (workers started)`, `${twoNodes.toFixed(1)} calls/s`, `x${(twoNodes / oneNode).toFixed(2)} of 1 node`, "double"],
      [`.map() over ${MAP_CALLS} small inputs through the queue (2 nodes)`, `${queueMap.toFixed(0)} calls/s`, `embedded ${embeddedMap.toFixed(0)}, plain BullMQ ${plain.toFixed(0)} calls/s`, ""],
    ];
  } finally {
    await Promise.all(nodes.map(stopNode));
    await queued.stop();
    await embedded.stop();
    await redis.stop();
  }
}

if (require.main === module) {
  queueFigures().then(
    (rows) => {
      for (const row of rows) console.log(row.filter(Boolean).join(" | "));
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
