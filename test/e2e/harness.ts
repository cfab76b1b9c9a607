import { isProcessAlive, type AppSummary } from "@stubrun/protocol";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** The repository root and the real `stubrun` bin, as a user's `npx stubrun` runs it. */
/**
 * Workers run sandboxed by default (STUBRUN_SANDBOX=auto). Most suites watch workers from
 * outside (their pids, files they leave in the test's temp folder), which the sandbox rightly
 * hides, so they run without it; `STUBRUN_TEST_SANDBOX=1` runs servers and daemons with it
 * (`npm run test:sandbox`), and test/e2e/sandbox.test.ts tests the isolation itself.
 */
process.env.STUBRUN_SANDBOX ??= process.env.STUBRUN_TEST_SANDBOX === "1" ? "on" : "off";

/**
 * For servers a test starts beyond loopback to test something else (tokens, nodes fetching
 * code): their workers go unsandboxed, as the rest of the suite's. The rule that refuses that
 * without --insecure-workers is tested in sandbox.test.ts.
 */
export const BEYOND_LOOPBACK = { STUBRUN_INSECURE_WORKERS: "1" };

export const ROOT = path.resolve(__dirname, "../..");
export const BIN = path.join(ROOT, "packages/stubrun/bin/stubrun.js");

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A real server in its own process, on a free port, with its own STUBRUN_HOME. */
export class TestServer {

  private constructor(
    readonly url: string,
    readonly home: string,
    private readonly process: ChildProcess,
    private readonly stderrLog: () => string,
    private readonly queue?: import("./queue-mode-env").QueueBackend,
  ) {}

  /**
   * @param options.config written to `$STUBRUN_HOME/config.json` first (e.g. `{ limits: { ... } }`)
   * @param options.home an existing STUBRUN_HOME (a restart); a fresh one by default
   * @param options.args more flags for `stubrun server` (e.g. `--queue redis://...`)
   */
  /** `nodeArgs` go to node before the bin (bench/profile.ts: --cpu-prof), `env` is added to this process's. */
  static async start(options: { config?: object; home?: string; args?: string[]; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<TestServer> {
    const home = options.home ?? fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-test-"));
    if (options.config) fs.writeFileSync(path.join(home, "config.json"), JSON.stringify(options.config));
    let log = "";
    // STUBRUN_TEST_QUEUE=1: the server runs calls through a Redis of its own on two worker nodes.
    const { QUEUE_MODE, QueueBackend } = require("./queue-mode-env") as typeof import("./queue-mode-env");
    const queue = QUEUE_MODE && !options.args?.includes("--queue") ? await QueueBackend.start() : undefined;
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, "server", "--port", "0", ...(options.args ?? []), ...(queue?.serverArgs ?? [])], {
      env: { ...process.env, ...options.env, STUBRUN_HOME: home },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20_000);
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        log += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(log);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once("exit", (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
    });
    await queue?.startNodes(BIN, url, home, options.env);
    return new TestServer(url, home, child, () => log, queue);
  }

  /** Everything the server wrote on its stderr so far. */
  get log(): string {
    return this.stderrLog();
  }

  get pid(): number {
    return this.process.pid as number;
  }

  /** Sends the server process a signal (SIGKILL: it dies at once, as in a crash). */
  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!this.alive) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.kill(signal);
    return exited;
  }

  /** Environment for a client of this server. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, STUBRUN_HOME: this.home, STUBRUN_SERVER_URL: this.url };
  }

  /** The server's local token (`$STUBRUN_HOME/token`): what the CLI and SDK send on loopback. */
  get token(): string {
    return fs.readFileSync(path.join(this.home, "token"), "utf8").trim();
  }

  /** `Authorization` for a raw request (fetch, a WebSocket) to this server. */
  get authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** fetch() on this server's URL with its token, as the CLI sends it (for /api routes). */
  api(pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.url}${pathAndQuery}`, { ...init, headers: { ...this.authHeaders, ...(init.headers as Record<string, string> | undefined) } });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Runs the real bin against this server. */
  run(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    return runBin(args, { cwd: options.cwd ?? ROOT, env: { ...this.env, ...options.env }, timeoutMs: options.timeoutMs });
  }

  /** Stops the server and removes its STUBRUN_HOME, unless `keepHome` (to start it again). */
  async stop(options: { keepHome?: boolean } = {}): Promise<void> {
    if (this.alive) {
      const exited = new Promise((resolve) => this.process.once("exit", resolve));
      this.process.kill("SIGTERM");
      await exited;
    }
    await this.queue?.stop();
    if (!options.keepHome) fs.rmSync(this.home, { recursive: true, force: true });
  }
}

/** Runs `stubrun ARGS` and collects its output and exit code. */
export function runBin(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`stubrun ${args.join(" ")} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 45_000);
    // "close", not "exit": the process can exit before its pipes are drained, cutting output short.
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Writes a throwaway TypeScript file for a test, inside the repository so `stubrun` resolves. */
export function writeFixture(name: string, source: string): string {
  const dir = path.join(ROOT, "test/e2e/.fixtures");
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, source);
  return path.relative(ROOT, file);
}

/** An app as `stubrun app list --json` prints it. */
export type AppJson = AppSummary;

/** `stubrun app list --json` against `server`, parsed. */
export async function appList(server: TestServer): Promise<AppJson[]> {
  const r = await server.run(["app", "list", "--json"]);
  if (r.code !== 0) throw new Error(`app list --json exited with ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as AppJson[];
}

/** The app with this id, as `app list --json` shows it. */
export async function appById(server: TestServer, id: string): Promise<AppJson> {
  const app = (await appList(server)).find((a) => a.id === id);
  if (!app) throw new Error(`app list --json has no app ${id}`);
  return app;
}

/** A `stubrun` process started in the background, so a test can watch and signal it while it runs. */
export class BinProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  /** Resolves when the process has exited, with everything it printed. */
  readonly exited: Promise<RunResult>;
  private static readonly live = new Set<BinProcess>();

  constructor(
    readonly args: string[],
    env: NodeJS.ProcessEnv,
    cwd = ROOT,
  ) {
    this.child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    BinProcess.live.add(this);
    this.child.stdout?.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.child.stderr?.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => {
        BinProcess.live.delete(this);
        // Output still buffered in the pipes arrives before "close".
        this.child.once("close", () => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
      }),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Waits until `pattern` matches what the process printed on `stream`. */
  async waitFor(pattern: RegExp, stream: "stdout" | "stderr" = "stderr", timeoutMs = 30_000): Promise<RegExpExecArray> {
    return waitUntil(() => pattern.exec(this[stream]) ?? undefined, {
      timeoutMs,
      what: () => `${pattern} on the ${stream} of stubrun ${this.args.join(" ")}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
    });
  }

  /** Waits for the "Created app ID" status line and returns the id. */
  async appId(timeoutMs = 30_000): Promise<string> {
    return (await this.waitFor(/Created app (\S+)/, "stderr", timeoutMs))[1];
  }

  /** Kills (SIGKILL, after SIGCONT in case it was stopped) every background process still alive. */
  static async killAll(): Promise<void> {
    const left = [...BinProcess.live];
    for (const p of left) {
      p.signal("SIGKILL");
      p.signal("SIGCONT");
    }
    await Promise.all(left.map((p) => p.exited));
  }
}

/** Starts `stubrun ARGS` against `server` in the background. */
export function spawnBin(server: TestServer, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): BinProcess {
  return new BinProcess(args, { ...server.env, ...options.env }, options.cwd);
}

/** Polls `check` until it returns something other than undefined/false; fails after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const what = typeof options.what === "function" ? options.what() : (options.what ?? "a condition");
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/**
 * Whether a process with this pid runs. A zombie counts as gone: a daemon's parent is PID 1 once
 * its starter exits, and on some machines PID 1 never reaps it.
 */
export function pidAlive(pid: number): boolean {
  return isProcessAlive(pid);
}

const tempDirs: string[] = [];

/** A fresh temporary directory, for files a fixture's functions write (pids, attempt counts). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `stubrun-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory `tempDir` made in this test file. */
/**
 * One real server for a test file: started before its tests, handed to `use`; every bin process
 * a test spawned is killed after it, and the server and temp dirs go after the file.
 */
export function withTestServer(use: (server: TestServer) => void, cleanUp?: () => void, options: { config?: object } = {}): void {
  let server: TestServer | undefined;
  beforeAll(async () => use((server = await TestServer.start(options))));
  afterEach(() => BinProcess.killAll());
  afterAll(async () => {
    await server?.stop();
    removeTempDirs();
    cleanUp?.();
  });
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** A port nothing listens on (free a moment ago). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
