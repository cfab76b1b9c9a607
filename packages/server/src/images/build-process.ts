import { spawn } from "node:child_process";

/** How one command of a build ended. */
export type BuildProcessOutcome = { ok: true } | { ok: false; why: string };

/** What a build step runs. */
export interface BuildProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Each line it writes, stdout and stderr alike. */
  onLine(line: string): void;
  /** Resolves the run as failed and kills it when this signal aborts (a timeout, the server closing). */
  signal: AbortSignal;
}

/**
 * Runs one command of an image build in a process group of its own (so a timeout or a closing
 * server kills what it started too), its output split into lines. Never rejects.
 */
export function runBuildProcess(spec: BuildProcessSpec): Promise<BuildProcessOutcome> {
  return new Promise((resolve) => {
    if (spec.signal.aborted) return resolve({ ok: false, why: String(spec.signal.reason) });
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const onAbort = () => killGroup();
    spec.signal.addEventListener("abort", onAbort, { once: true });
    for (const stream of [child.stdout, child.stderr]) {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const lines = (partial + chunk).split(/\r?\n/);
        partial = lines.pop() ?? "";
        for (const line of lines) spec.onLine(line);
      });
      stream.on("end", () => {
        if (partial !== "") spec.onLine(partial);
        partial = "";
      });
      stream.on("error", () => {});
    }
    child.once("error", (error) => {
      spec.signal.removeEventListener("abort", onAbort);
      resolve({ ok: false, why: `could not start ${spec.command} (${error.message})` });
    });
    // What it left running in its group goes with it, so the pipes close and "close" follows.
    child.once("exit", () => killGroup());
    child.once("close", (code, signalName) => {
      spec.signal.removeEventListener("abort", onAbort);
      if (spec.signal.aborted) return resolve({ ok: false, why: String(spec.signal.reason) });
      if (code === 0) return resolve({ ok: true });
      resolve({ ok: false, why: signalName ? `killed by signal ${signalName}` : `exited with code ${code}` });
    });
  });
}
