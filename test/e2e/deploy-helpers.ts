import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT, waitUntil, writeFixture, type RunResult } from "./harness";

/**
 * Helpers for the deploy, lookup and persistence tests: plain Node programs (CommonJS or ESM)
 * that use `lookup()` from the `stubrun` package, run with `node` as a user would.
 */

export interface NodeResult extends RunResult {
  /** The program did not exit by itself within its time limit (it was killed). */
  hung: boolean;
}

/** Runs `node SCRIPT ARGS` from the repository (so `stubrun` resolves) and collects its output. */
export function runNode(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<NodeResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let hung = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

/** A `node SCRIPT` started in the background, so a test can act while it runs. */
export class NodeProcess {
  private static readonly live = new Set<NodeProcess>();
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<RunResult>;

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    NodeProcess.live.add(this);
    this.child.stdout?.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.child.stderr?.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.on("close", (code, signal) => {
        NodeProcess.live.delete(this);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      }),
    );
  }

  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    return waitUntil(() => pattern.exec(this.stdout) ?? undefined, {
      timeoutMs,
      what: () => `${pattern} on the stdout of node ${this.child.spawnargs.slice(1).join(" ")}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
    });
  }

  /** Waits for the process to exit, killing it (and failing) if it does not within `timeoutMs`. */
  async finish(timeoutMs = 30_000): Promise<RunResult> {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    if (result.signal === "SIGKILL") throw new Error(`node ${this.child.spawnargs.slice(1).join(" ")} did not exit by itself\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    return result;
  }

  static async killAll(): Promise<void> {
    const left = [...NodeProcess.live];
    for (const p of left) p.child.kill("SIGKILL");
    await Promise.all(left.map((p) => p.exited));
  }
}

/**
 * Writes `PREFIX-call.cjs`: `node it APP FUNCTION OPTIONS_JSON ARGS_JSON` looks the function up,
 * calls it with `.remote()`, and prints the result as JSON; a rejection is printed as
 * `NAME: MESSAGE` on stderr with exit code 1. Returns the script's absolute path.
 */
export function writeCallScript(prefix: string): string {
  return path.join(
    ROOT,
    writeFixture(
      `${prefix}-call.cjs`,
      `const { lookup } = require("stubrun");
const [app, name, options = "{}", args = "[]"] = process.argv.slice(2);
lookup(app, name, JSON.parse(options))
  .then((f) => f.remote(...JSON.parse(args)))
  .then(
    (value) => console.log(JSON.stringify(value)),
    (error) => {
      console.error(error.name + ": " + error.message);
      process.exitCode = 1;
    },
  );
`,
    ),
  );
}

/** Calls APP's FUNCTION through `lookup()` in a fresh Node program; returns what it returned. */
export async function callDeployed(script: string, env: NodeJS.ProcessEnv, app: string, name: string, options: { version?: number } = {}, args: unknown[] = []): Promise<unknown> {
  const r = await runNode(script, [app, name, JSON.stringify(options), JSON.stringify(args)], env);
  if (r.hung) throw new Error(`the lookup program for ${app} ${name} did not exit by itself\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  if (r.code !== 0) throw new Error(`the lookup program for ${app} ${name} exited with ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

