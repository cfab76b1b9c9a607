/**
 * `npm run bench`: every figure of DESIGN.md §4 beside its baselines, all measured in this run on
 * this machine: `node -e 0`, `tsx` running the same code locally, a WebSocket echo between two
 * processes, and BullMQ on a Redis started here. Each figure is the median of `BENCH_RUNS` runs
 * (default 5) with its spread. Writes bench/results/<date>.json and prints the table;
 * `npm run bench:charts` then draws the history and the table of docs/performance.md.
 *
 * `BENCH_QUICK=1` (CI): small sizes and 2 runs, no queue-mode figures, the JSON in a temporary
 * folder: it proves every measurement runs and gives sane numbers, not the numbers themselves.
 *
 * `BENCH_ONLY=map,round-trip` (row keys, comma-separated): only those rows and their baselines,
 * the JSON in a temporary folder; for quick loops while working on one figure.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TestServer } from "../test/e2e/harness";
import { BullmqPeer } from "./lib/bullmq-peer";
import { checkResult, formatTable, type BenchResult, type Row } from "./lib/result";
import { msSince, repeat, stat, type Stat } from "./lib/stats";
import { ipcEchoP50 } from "./lib/ipc-echo";
import { wsEchoP50 } from "./lib/ws-echo";
import { queueFigures } from "./queue";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "packages/stubrun/bin/stubrun.js");
const TSX = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 2 : 5));
const TRIPS = QUICK ? 200 : 2_000;
const MAP_SIZE = QUICK ? 2_000 : 20_000;
const GENERATOR_SIZE = QUICK ? 20_000 : 1_000_000;
const ONLY = new Set((process.env.BENCH_ONLY ?? "").split(",").filter(Boolean));

/** Whether the row `key` is measured in this run (BENCH_ONLY). */
function wants(...keys: string[]): boolean {
  return ONLY.size === 0 || keys.some((key) => ONLY.has(key));
}

/** Wall time of one process, in ms. */
function processMs(args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return msSince(start);
}

/** Runs a bench program with the bin and returns the JSON line it printed last. */
function benchProgram<T>(server: TestServer, file: string, args: string[] = []): T {
  const out = execFileSync(process.execPath, [BIN, "-q", file, ...args], { cwd: ROOT, env: server.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.trim().split("\n").pop() as string) as T;
}

function serverPid(server: TestServer): number {
  return (JSON.parse(fs.readFileSync(path.join(server.home, "server.pid"), "utf8")) as { pid: number }).pid;
}

/** A line of /proc/PID/status, in MB (VmRSS: resident now, VmHWM: its peak). */
function procMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
}

interface CallsFigures {
  p50: number;
  p99: number;
  coldMs: number;
  workerReadyMs: number;
  mapCallsPerSecond: number;
}

interface GeneratorFigures {
  n: number;
  callsPerSecond: number;
  readAtFirstResult: number;
  clientPeakMb: number;
}

/** Runs bench/calls.bench.ts `RUNS` times on `server`; the returned picker gives one figure's stat. */
function callsFigures(server: TestServer): (f: (c: CallsFigures) => number) => Stat {
  const calls: CallsFigures[] = [];
  for (let i = 0; i < RUNS; i++) calls.push(benchProgram<CallsFigures>(server, "bench/calls.bench.ts", ["--round-trips", String(TRIPS), "--map-size", String(MAP_SIZE)]));
  return (f) => stat(calls.map(f));
}

/**
 * Issue 15: what the worker sandbox costs. The figures above run without it (as the test suite
 * does); these run the same program on a server with STUBRUN_SANDBOX=on, beside them. Skipped,
 * saying so, where bubblewrap cannot make namespaces.
 */
async function sandboxRows(plain: Row[], log: (what: string) => void): Promise<Row[]> {
  if (spawnSync("bwrap", ["--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "true"]).status !== 0) {
    log("sandbox: skipped (bubblewrap cannot make namespaces here)");
    return [];
  }
  log(`sandbox: the calls program again, workers in bubblewrap, ${RUNS} times`);
  const server = await TestServer.start({ env: { STUBRUN_SANDBOX: "on" } });
  try {
    const pick = callsFigures(server);
    const without = (key: string) => (plain.find((r) => r.key === key) as Row).measured;
    const cold = pick((c) => c.workerReadyMs);
    const trip = pick((c) => c.p50);
    return [
      {
        key: "cold-start-sandboxed",
        figure: "cold start, worker sandboxed (bubblewrap)",
        unit: "ms",
        measured: cold,
        baselines: [{ name: "not sandboxed", stat: without("cold-start") }],
        target: "< 50 ms",
        met: cold.median < 50,
      },
      {
        key: "round-trip-sandboxed",
        figure: "warm `.remote()` round trip p50, worker sandboxed",
        unit: "ms",
        measured: trip,
        baselines: [{ name: "not sandboxed", stat: without("round-trip") }],
        target: "< 0.2 ms",
        met: trip.median < 0.2,
      },
    ];
  } finally {
    await server.stop();
  }
}

async function measure(): Promise<Row[]> {
  const rows: Row[] = [];
  const log = (what: string) => process.stderr.write(`bench: ${what}\n`);

  log("process starts: node -e 0");
  const nodeStart = await repeat(wants("hello", "cold-start") ? RUNS * 2 : 1, () => processMs(["-e", "0"], process.env));

  const server = await TestServer.start();
  try {
    const idleRss = procMb(serverPid(server), "VmRSS");
    if (wants("hello")) {
      log("tsx locally");
      processMs([TSX, "bench/hello-local.ts"], process.env); // the disk cache
      const tsxHello = await repeat(RUNS, () => processMs([TSX, "bench/hello-local.ts"], process.env));
      log("stubrun hello.ts");
      processMs([BIN, "-q", "examples/hello.ts"], server.env); // the disk cache
      const hello = await repeat(RUNS, () => processMs([BIN, "-q", "examples/hello.ts"], server.env));
      rows.push({
        key: "hello",
        figure: "`stubrun hello.ts` (one remote call, server up)",
        unit: "ms",
        measured: hello,
        baselines: [
          { name: "node -e 0", stat: nodeStart },
          { name: "tsx locally", stat: tsxHello },
        ],
        target: "≤ 2.5x `node -e 0`, < 0.6x tsx",
        met: hello.median <= 2.5 * nodeStart.median && hello.median < 0.6 * tsxHello.median,
      });
    }

    if (wants("cold-start", "round-trip", "map", "cold-start-sandboxed", "round-trip-sandboxed")) rows.push(...(await callsRows(server, nodeStart, log)));
    if (wants("idle-rss")) rows.push({
      key: "idle-rss",
      figure: "idle server resident memory",
      unit: "MB",
      measured: stat([idleRss]),
      baselines: [],
      target: "< 80 MB",
      met: idleRss < 80,
    });
  } finally {
    await server.stop();
  }

  if (wants("cold-start-sandboxed", "round-trip-sandboxed")) rows.push(...(await sandboxRows(rows, log)));

  if (wants("generator-map")) rows.push(await generatorRow(log));
  if (!QUICK && wants("queue-nodes")) rows.push(await queueRow(log));
  return rows;
}

/** The calls program's rows: cold start, warm round trip, `.map()`, with their baselines. */
async function callsRows(server: TestServer, nodeStart: Stat, log: (what: string) => void): Promise<Row[]> {
  log(`calls: ${TRIPS} warm round trips, a cold start, a .map of ${MAP_SIZE}, ${RUNS} times`);
  const pick = callsFigures(server);

  log("baselines: WebSocket echo, IPC echo, BullMQ");
  const rows: Row[] = [];
  const bullmq = await BullmqPeer.start();
  try {
    const workerReady = pick((c) => c.workerReadyMs);
    if (wants("cold-start", "cold-start-sandboxed")) rows.push({
      key: "cold-start",
      figure: "a new worker ready for its first call (cold start)",
      unit: "ms",
      measured: workerReady,
      baselines: [{ name: "node -e 0", stat: nodeStart }],
      target: "< 50 ms",
      met: workerReady.median < 50,
    });
    if (wants("round-trip", "round-trip-sandboxed")) {
      const wsEcho = await repeat(RUNS, () => wsEchoP50(TRIPS));
      const ipcEcho = await repeat(RUNS, () => ipcEchoP50(TRIPS));
      const bullRoundTrip = await repeat(RUNS, () => bullmq.roundTripP50(QUICK ? 100 : 500));
      const roundTrip = pick((c) => c.p50);
      rows.push({
        key: "round-trip",
        figure: "warm `.remote()` round trip p50",
        unit: "ms",
        measured: roundTrip,
        baselines: [
          { name: "WebSocket echo", stat: wsEcho },
          { name: "IPC echo", stat: ipcEcho },
          { name: "BullMQ job", stat: bullRoundTrip },
        ],
        target: "< 0.2 ms, < 0.1x BullMQ",
        met: roundTrip.median < 0.2 && roundTrip.median < 0.1 * bullRoundTrip.median,
      });
    }
    if (wants("map")) {
      const bullThroughput = await repeat(RUNS, () => bullmq.throughput(MAP_SIZE));
      const map = pick((c) => c.mapCallsPerSecond);
      rows.push({
        key: "map",
        figure: `\`.map()\` over ${MAP_SIZE.toLocaleString("en")} small inputs`,
        unit: "calls/s",
        measured: map,
        baselines: [{ name: "BullMQ jobs", stat: bullThroughput }],
        target: "> 30,000 calls/s, > 3x BullMQ",
        met: map.median > 30_000 && map.median > 3 * bullThroughput.median,
      });
    }
  } finally {
    await bullmq.close();
  }
  return rows;
}

/** A `.map()` over a generator of GENERATOR_SIZE inputs, on a server of its own (for its peak memory). */
async function generatorRow(log: (what: string) => void): Promise<Row> {
  log(`a .map over ${GENERATOR_SIZE} inputs from a generator (a server of its own, for its peak memory)`);
  const genServer = await TestServer.start();
  try {
    const start = process.hrtime.bigint();
    const g = benchProgram<GeneratorFigures>(genServer, "bench/generator-map.bench.ts", ["--n", String(GENERATOR_SIZE)]);
    const seconds = msSince(start) / 1000;
    const serverPeak = procMb(serverPid(genServer), "VmHWM");
    if (g.n !== GENERATOR_SIZE) throw new Error(`the generator map returned ${g.n} results of ${GENERATOR_SIZE}`);
    return {
      key: "generator-map",
      figure: `\`.map()\` over ${GENERATOR_SIZE.toLocaleString("en")} inputs from a generator: peak resident memory of the larger of client and server`,
      unit: "MB",
      measured: stat([Math.max(g.clientPeakMb, serverPeak)]),
      baselines: [],
      target: "completes; each < 300 MB",
      met: g.clientPeakMb < 300 && serverPeak < 300,
      note: `client ${g.clientPeakMb.toFixed(0)} MB, server ${serverPeak.toFixed(0)} MB; ${g.callsPerSecond.toFixed(0)} calls/s, ${seconds.toFixed(0)} s; first result after ${g.readAtFirstResult} inputs read`,
    };
  } finally {
    await genServer.stop();
  }
}

/** Queue mode: a sleeping function's throughput on 1, then 2 worker nodes. */
async function queueRow(log: (what: string) => void): Promise<Row> {
  log("queue mode (bench/queue.ts)");
  const [oneNode, twoNodes] = await queueFigures();
  const perSecond = (cell: string) => Number(/([\d.]+) calls\/s/.exec(cell)?.[1]);
  const one = perSecond(oneNode[1]);
  const two = perSecond(twoNodes[1]);
  return {
    key: "queue-nodes",
    figure: "`--queue`: a sleeping function's throughput on 2 worker nodes, x of 1 node",
    unit: "x",
    measured: stat([two / one]),
    baselines: [],
    target: "doubles (x2)",
    met: two / one >= 1.9,
    note: `${one.toFixed(1)} calls/s on 1 node, ${two.toFixed(1)} on 2`,
  };
}

async function main(): Promise<void> {
  const started = new Date();
  const rows = await measure();
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  const result: BenchResult = {
    date: started.toISOString(),
    commit,
    quick: QUICK,
    runs: RUNS,
    machine: { cpus: os.availableParallelism(), model: os.cpus()[0]?.model ?? "unknown", node: process.version, load: os.loadavg()[0] },
    rows,
  };
  checkResult(result);
  const dir = QUICK || ONLY.size > 0 ? fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-bench-")) : path.join(ROOT, "bench/results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().slice(0, 16).replace(":", "")}Z.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  console.log(formatTable(result));
  console.log(`\nwritten to ${path.relative(ROOT, file)}${QUICK || ONLY.size > 0 ? "" : "; `npm run bench:charts` draws it into docs/"}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
