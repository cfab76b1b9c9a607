import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** The repository root and the real `stubrun` bin, as a user's `npx stubrun` runs it. */
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
  ) {}

  static async start(): Promise<TestServer> {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-test-"));
    const child = spawn(process.execPath, [BIN, "server", "--port", "0"], {
      env: { ...process.env, STUBRUN_HOME: home },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let log = "";
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
    return new TestServer(url, home, child);
  }

  /** Environment for a client of this server. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, STUBRUN_HOME: this.home, STUBRUN_SERVER_URL: this.url };
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Runs the real bin against this server. */
  run(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    return runBin(args, { cwd: options.cwd ?? ROOT, env: { ...this.env, ...options.env }, timeoutMs: options.timeoutMs });
  }

  async stop(): Promise<void> {
    if (this.alive) {
      const exited = new Promise((resolve) => this.process.once("exit", resolve));
      this.process.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(this.home, { recursive: true, force: true });
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
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Writes a throwaway TypeScript file for a test, inside the repository so `stubrun` resolves. */
export function writeFixture(name: string, source: string): string {
  const dir = path.join(ROOT, "test/e2e/.fixtures");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  return path.relative(ROOT, file);
}
