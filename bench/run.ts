/**
 * `npm run bench`: the figures of DESIGN.md §4, each beside its baseline, measured in this run
 * against a fresh server with its own STUBRUN_HOME.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { TestServer } from "../test/e2e/harness";
import { queueFigures } from "./queue";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "packages/stubrun/bin/stubrun.js");
const TSX = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
const RUNS = Number(process.env.BENCH_RUNS ?? 10);

function medianMs(command: string[], env: NodeJS.ProcessEnv): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, command, { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
    if (r.status !== 0) throw new Error(`${command.join(" ")} failed: ${r.stderr}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const server = await TestServer.start();
  try {
    const env = server.env;
    const pid = (JSON.parse(fs.readFileSync(path.join(server.home, "server.pid"), "utf8")) as { pid: number }).pid;
    const idleRss = rssMb(pid);
    medianMs([BIN, "-q", "examples/hello.ts"], env); // warm the disk cache
    const stubrunHello = medianMs([BIN, "-q", "examples/hello.ts"], env);
    const tsxHello = medianMs([TSX, "bench/hello-local.ts"], env);
    const out = execFileSync(process.execPath, [BIN, "-q", "bench/calls.bench.ts"], { cwd: ROOT, env, encoding: "utf8" });
    const calls = JSON.parse(out.trim().split("\n").pop() as string) as Record<string, number>;
    const rows: [string, string, string, string][] = [
      ["stubrun hello.ts (server up), median of " + RUNS, `${stubrunHello.toFixed(0)} ms`, `tsx locally: ${tsxHello.toFixed(0)} ms`, "no slower"],
      ["warm .remote() round trip p50", `${calls.p50.toFixed(3)} ms`, `p99 ${calls.p99.toFixed(3)} ms`, "under 1 ms"],
      [".map() over 20,000 small inputs", `${calls.mapCallsPerSecond.toFixed(0)} calls/s`, "", "over 10,000 calls/s"],
      ["a new worker ready for its first call", `${calls.workerReadyMs.toFixed(0)} ms`, `cold call ${calls.coldMs.toFixed(0)} ms`, "under 150 ms"],
      ["idle server resident memory", `${idleRss.toFixed(0)} MB`, "", "under 100 MB"],
      ...(await queueFigures()),
    ];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), 6));
    console.log(["figure", "measured", "baseline", "target"].map((h, i) => h.padEnd(widths[i])).join(" | "));
    for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join(" | "));
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
