import { spawn, type ChildProcess } from "node:child_process";
import { ROOT } from "../../test/proof/proof-server";

/** A client program (the bin or a `lookup()` script) in the background, with a bound on how long it may live. */
export class NodeProgram {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  /** Killed for passing its bound: it hung. */
  hung = false;
  readonly startedAt = Date.now();
  endedAt = 0;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: NodeJS.ProcessEnv, boundMs: number) {
    this.child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.child.stderr?.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    const timer = setTimeout(() => {
      this.hung = true;
      this.child.kill("SIGKILL");
    }, boundMs);
    this.exited = new Promise((resolve) =>
      this.child.on("close", (code, signal) => {
        clearTimeout(timer);
        this.endedAt = Date.now();
        resolve({ code, signal });
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last non-empty line of stderr (the error a user would read). */
  get lastError(): string {
    return this.stderr.trim().split("\n").filter(Boolean).pop() ?? "";
  }
}
