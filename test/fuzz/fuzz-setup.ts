import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { runBin, writeFixture } from "../e2e/harness";
import { ProofServer, ROOT } from "../proof/proof-server";

/** How many fast-check runs each fuzz test makes: `FUZZ_RUNS` (`npm run fuzz` sets 10,000), else a CI-sized default. */
export function fuzzRuns(ciDefault: number): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : ciDefault;
}

/** The apps a fuzz test needs: `steady` (called throughout), `target` (fuzzed), `victim` (may be stopped). */
export interface FuzzApps {
  steady: string;
  target: string;
  victim: string;
}

function appSource(name: string, cls: string): string {
  return `import { Stub } from "stubrun";

const stub = new Stub(${JSON.stringify(name)});

class ${cls} {
  @stub.function()
  async inc(x: number): Promise<number> {
    await new Promise((r) => setTimeout(r, 10));
    return x + 1;
  }

  @stub.function()
  echo(x: unknown): unknown {
    return x;
  }

  @stub.webEndpoint({ method: "GET" })
  get(name: string, times = 1, loud?: boolean): string {
    return (loud ? name.toUpperCase() : name).repeat(times);
  }

  @stub.webEndpoint({ method: "POST" })
  post(items: number[], label: string): { n: number; label: string } {
    return { n: items.length, label };
  }
}
`;
}

/** Deploys the three apps of a fuzz test with the real bin. */
export async function deployFuzzApps(server: ProofServer, prefix: string): Promise<FuzzApps> {
  const apps: FuzzApps = { steady: `${prefix}-steady`, target: `${prefix}-target`, victim: `${prefix}-victim` };
  const classes: Record<keyof FuzzApps, string> = { steady: "Steady", target: "Target", victim: "Victim" };
  for (const key of Object.keys(apps) as (keyof FuzzApps)[]) {
    const file = writeFixture(`${apps[key]}.ts`, appSource(apps[key], classes[key]));
    const r = await runBin(["deploy", file], { env: server.env, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`deploy of ${apps[key]} failed (${r.code}): ${r.stderr}`);
  }
  return apps;
}

/** The steady app's calls, made by a separate program for the whole fuzz run. */
export class SteadyTraffic {
  private readonly child: ChildProcess;
  private readonly stopFile: string;
  private stdout = "";
  private stderr = "";
  private readonly closed: Promise<number | null>;

  constructor(server: ProofServer, app: string) {
    this.stopFile = path.join(server.home, `stop-steady-${process.pid}`);
    this.child = spawn(process.execPath, [path.join(__dirname, "steady-caller.cjs"), app, this.stopFile], { cwd: ROOT, env: server.env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.child.stderr?.setEncoding("utf8").on("data", (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.closed = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }

  /** Asks it to finish its batch and stop; what it saw, or why it failed. */
  async finish(timeoutMs = 60_000): Promise<{ code: number | null; calls: number; wrong: number; output: string }> {
    fs.writeFileSync(this.stopFile, "");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const code = await this.closed;
    clearTimeout(timer);
    const line = this.stdout.trim().split("\n").pop() ?? "";
    const parsed = line.startsWith("{") ? (JSON.parse(line) as { calls: number; wrong: number }) : { calls: 0, wrong: 0 };
    return { code, ...parsed, output: `${this.stdout}\n${this.stderr}` };
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}
