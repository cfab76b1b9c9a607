import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { authHeaders } from "./server-auth";
import { pidAlive } from "../e2e/harness";

/** The repository root and the real `stubrun` bin. */
export const ROOT = path.resolve(__dirname, "../..");
export const BIN = path.join(ROOT, "packages/stubrun/bin/stubrun.js");

/**
 * A real `stubrun server` process for the proof tools: its own STUBRUN_HOME, a port that stays
 * the same across restarts (so clients and the stored state meet again), and the means to
 * kill it with SIGKILL, find its workers, and start it again on the same home.
 */
export class ProofServer {
  private child: ChildProcess | undefined;
  private exitedPromise: Promise<void> = Promise.resolve();
  /** The server's stderr, the last 64 KiB of it. */
  log = "";
  url = "";
  port: number;

  private constructor(
    readonly home: string,
    port: number,
  ) {
    this.port = port;
  }

  /** Starts a server on a fresh home (optionally with `config.json`), on `port` (0: any free one, kept for restarts). */
  static async start(options: { port?: number; config?: unknown; home?: string } = {}): Promise<ProofServer> {
    const home = options.home ?? fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-proof-"));
    if (options.config !== undefined) fs.writeFileSync(path.join(home, "config.json"), JSON.stringify(options.config));
    const server = new ProofServer(home, options.port ?? 0);
    await server.launch();
    return server;
  }

  private launch(): Promise<void> {
    const child = spawn(process.execPath, [BIN, "server", "--port", String(this.port)], {
      cwd: ROOT,
      env: { ...process.env, STUBRUN_HOME: this.home },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    this.exitedPromise = new Promise((resolve) => child.once("exit", () => resolve()));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start in 30 s:\n${this.log}`)), 30_000);
      let started = false;
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        this.log = (this.log + chunk).slice(-65_536);
        const match = !started && /listening on (http:\/\/\S+)/.exec(this.log);
        if (match) {
          started = true;
          clearTimeout(timer);
          this.url = match[1];
          this.port = Number(new URL(this.url).port);
          resolve();
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (!started) reject(new Error(`the server exited with ${signal ?? `code ${code}`} before it listened:\n${this.log}`));
      });
    });
  }

  /** Starts the server again on the same home and port, after it was killed or stopped. */
  async restart(): Promise<void> {
    if (this.alive) throw new Error("restart() needs the server stopped first");
    await this.launch();
  }

  get pid(): number {
    return this.child?.pid as number;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** How the server process ended, once it has. */
  get exitDescription(): string | undefined {
    if (!this.child || this.alive) return undefined;
    return this.child.signalCode ? `signal ${this.child.signalCode}` : `code ${this.child.exitCode}`;
  }

  /** Environment for a client (the bin, a `lookup()` program) of this server. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, STUBRUN_HOME: this.home, STUBRUN_SERVER_URL: this.url };
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, "ws")}/ws`;
  }

  /** The pids of the server's child processes (its workers), read from /proc. */
  childPids(): number[] {
    if (!this.alive) return [];
    return childPidsOf(this.pid);
  }

  /** kill -9 the server, and wait until it is gone. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child?.kill("SIGKILL");
    await this.exitedPromise;
  }

  /** SIGTERM (a clean stop), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child?.kill("SIGTERM");
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), 20_000);
    await this.exitedPromise;
    clearTimeout(timer);
  }

  /** Resolves when the process exits (at once if it has). */
  exited(): Promise<void> {
    return this.exitedPromise;
  }

  /** A request to this server's HTTP side, authenticated like every direct request of the proof tools. */
  async api(pathname: string, init: RequestInit = {}): Promise<Response> {
    return fetch(this.url + pathname, { ...init, headers: { ...authHeaders(this.home), ...(init.headers as Record<string, string> | undefined) } });
  }

  /** GET /health answers 200. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(5_000) });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Stops the server if it runs and removes its home. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

/** Child pids of `pid`, from /proc/PID/task/TID/children of each of its threads. */
export function childPidsOf(pid: number): number[] {
  const pids = new Set<number>();
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tasks) {
    try {
      for (const p of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/)) if (p) pids.add(Number(p));
    } catch {
      // the thread ended
    }
  }
  return [...pids];
}

/** Whether a process with this pid is running (a zombie counts as gone). */
export const processAlive = pidAlive;

/**
 * Servers other than `except` that run on `home`: daemons a client started by itself (the SDK
 * and CLI start one when nothing answers at a loopback URL). Read from /proc.
 */
export function strayServers(home: string, except: number): { pid: number; ppid: number; startedAgoMs: number }[] {
  const found: { pid: number; ppid: number; startedAgoMs: number }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === except || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!/daemon-main|stubrun\.js\0server/.test(cmdline)) continue;
      const environ = fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (!environ.includes(`STUBRUN_HOME=${home}`)) continue;
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
      const ticks = Number(stat[19]);
      const uptime = Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
      found.push({ pid: Number(entry), ppid: Number(stat[1]), startedAgoMs: Math.round((uptime - ticks / 100) * 1000) });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
