/**
 * `npx tsx bench/profile.ts [what]`: a `.map()` of 20,000 trivial calls (bench/calls.bench.ts)
 * against a fresh server, with V8's CPU profiler on in the client, the server and its workers
 * (`STUBRUN_PROFILE_DIR`). Prints where each process spent its time (self time by function), and
 * leaves the `.cpuprofile` files (open them in Chrome's DevTools) in the folder it names.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TestServer } from "../test/e2e/harness";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "packages/stubrun/bin/stubrun.js");

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time by function of one profile, biggest first, as [name, ms, share]. */
export function selfTimes(file: string): { total: number; rows: [string, number, number][] } {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byNode.get(id);
    if (!node) return;
    const delta = (profile.timeDeltas[i] ?? 0) / 1000;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` ${url.replace(/^.*\/(node_modules|packages)\//, "$1/").replace(/^node:/, "")}:${lineNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"}${where}`;
    ms.set(key, (ms.get(key) ?? 0) + delta);
    total += delta;
  });
  const rows = [...ms.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]): [string, number, number] => [k, v, v / total]);
  return { total, rows };
}

async function main(): Promise<void> {
  const what = process.argv[2] ?? "map";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-profile-"));
  const serverDir = path.join(dir, "server");
  const workerDir = path.join(dir, "workers");
  const clientDir = path.join(dir, "client");
  for (const d of [serverDir, workerDir, clientDir]) fs.mkdirSync(d);
  // --cpu-prof is not allowed in NODE_OPTIONS: the server and the client are started with it here.
  const server = await TestServer.start({ nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${serverDir}`], env: { STUBRUN_PROFILE_DIR: workerDir } });
  try {
    const args = what === "roundtrip" ? ["--round-trips", "5000", "--map-size", "0"] : ["--round-trips", "500", "--map-size", "20000"];
    const profiled = ["--cpu-prof", `--cpu-prof-dir=${clientDir}`, BIN, "-q", "bench/calls.bench.ts", ...args];
    const out = execFileSync(process.execPath, profiled, { cwd: ROOT, env: server.env, encoding: "utf8" });
    console.log(out.trim().split("\n").pop());
  } finally {
    await server.stop();
  }
  for (const [name, d] of [["client", clientDir], ["server", serverDir], ["workers", workerDir]] as const) {
    for (const file of fs.readdirSync(d).filter((f) => f.endsWith(".cpuprofile"))) {
      const { total, rows } = selfTimes(path.join(d, file));
      if (total < 50) continue; // a process that did next to nothing (the CLI's parent, a cold worker)
      console.log(`\n${name} ${file}: ${total.toFixed(0)} ms sampled`);
      for (const [key, ms, share] of rows.slice(0, 22)) console.log(`${ms.toFixed(0).padStart(7)} ms ${(share * 100).toFixed(1).padStart(5)}%  ${key}`);
    }
  }
  console.log(`\nprofiles in ${dir}`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
