import { spawn } from "node:child_process";
import path from "node:path";
import { runBin, writeFixture } from "../e2e/harness";
import type { ProofServer } from "./proof-server";
import { ROOT } from "./proof-server";
import { quantile } from "./raw-client";

/** What a load run saw. */
export interface LoadFigures {
  clients: number;
  callsPerClient: number;
  expected: number;
  ok: number;
  wrong: number;
  errors: number;
  /** Calls that never came back (a client process died or hung). */
  lost: number;
  firstError: string;
  /** Round trips of every call, in ms. */
  p50: number;
  p99: number;
  max: number;
  /** Round trips without each client's first call (which waits for the workers to start). */
  warmP50: number;
  warmP99: number;
  seconds: number;
  callsPerSecond: number;
}

/** Deploys the load app (`Load.tag(client, i)` returns "client:i") on `server`; returns its name. */
export async function deployLoadApp(server: ProofServer, name: string): Promise<string> {
  const file = writeFixture(
    `${name}.ts`,
    `import { Stub } from "stubrun";

const stub = new Stub(${JSON.stringify(name)});

class Load {
  @stub.function()
  tag(client: number, i: number): string {
    return client + ":" + i;
  }
}
`,
  );
  const r = await runBin(["deploy", file], { env: server.env, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`deploy of ${name} failed (${r.code}): ${r.stderr}`);
  return name;
}

/**
 * `clients` concurrent clients, each its own WebSocket connection, spread over `processes`
 * processes, each making `callsPerClient` calls in a row to `app`; every result is checked.
 */
export async function runLoad(server: ProofServer, app: string, options: { clients: number; callsPerClient: number; processes: number; boundMs?: number }): Promise<LoadFigures> {
  const started = Date.now();
  const per = Math.ceil(options.clients / options.processes);
  const outputs = await Promise.all(
    Array.from({ length: options.processes }, (_, p) => {
      const count = Math.min(per, options.clients - p * per);
      return count <= 0 ? Promise.resolve("") : runClientProcess(server, [server.wsUrl, app, String(count), String(options.callsPerClient), String(p * per)], options.boundMs ?? 300_000);
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const expected = options.clients * options.callsPerClient;
  let ok = 0;
  let wrong = 0;
  let errors = 0;
  let firstError = "";
  const rtts: number[] = [];
  const warm: number[] = [];
  for (const out of outputs) {
    if (!out) continue;
    const line = out.trim().split("\n").pop() ?? "";
    let parsed: { ok?: number; wrong?: number; errors?: number; firstError?: string; rtts?: number[]; firstRtts?: number[]; fatal?: string };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      parsed = { fatal: `a client process printed: ${line.slice(0, 300)}` };
    }
    if (parsed.fatal) firstError ||= parsed.fatal;
    ok += parsed.ok ?? 0;
    wrong += parsed.wrong ?? 0;
    errors += parsed.errors ?? 0;
    firstError ||= parsed.firstError ?? "";
    for (const t of parsed.rtts ?? []) warm.push(t);
    for (const t of parsed.firstRtts ?? []) rtts.push(t);
  }
  warm.sort((a, b) => a - b);
  rtts.push(...warm);
  rtts.sort((a, b) => a - b);
  return {
    clients: options.clients,
    callsPerClient: options.callsPerClient,
    expected,
    ok,
    wrong,
    errors,
    lost: expected - ok - wrong - errors,
    firstError,
    p50: quantile(rtts, 0.5),
    p99: quantile(rtts, 0.99),
    max: rtts[rtts.length - 1] ?? NaN,
    warmP50: quantile(warm, 0.5),
    warmP99: quantile(warm, 0.99),
    seconds,
    callsPerSecond: (ok + wrong + errors) / seconds,
  };
}

function runClientProcess(server: ProofServer, args: string[], boundMs: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "load-client.ts"), ...args], { cwd: ROOT, env: server.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err = (err + d).slice(-2000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), boundMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(out.trim() ? out : JSON.stringify({ fatal: `a client process exited with ${code}: ${err}` }));
    });
  });
}
