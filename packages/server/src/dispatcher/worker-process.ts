import { toWireError, type Encoded, validateWorkerMessage, type FromWorkerMessage, type ToWorkerMessage, type WorkerConfig } from "@stubrun/protocol";
import { WORKER_MAIN } from "@stubrun/worker";
import { fork, type ChildProcess } from "node:child_process";
import os from "node:os";
import { guard } from "./guard";
import type { WorkerLaunch } from "../sandbox/worker-sandbox";
import type { WorkerCgroup } from "../sandbox/memory-cgroup";
import { descendantsOf, killLeftovers, killProcessTree, type ProcessRef } from "./process-tree";

/**
 * How long output may still arrive after a worker's process exited: a crashing worker's last
 * trace is usually in the pipe already. A grandchild that holds the pipe open does not keep the
 * worker counted as alive past this.
 */
const OUTPUT_AFTER_EXIT_MS = 200;

/** Handles what a worker process says and does. */
export interface WorkerEvents {
  message(worker: WorkerProcess, message: FromWorkerMessage): void;
  /** Output written to the process's own stdout/stderr, outside the SDK's capture. */
  rawOutput(worker: WorkerProcess, stream: "stdout" | "stderr", data: string): void;
  exit(worker: WorkerProcess, description: string): void;
}

/** How a worker process is started. */
export interface WorkerOptions {
  /** The V8 heap limit of the worker, in MiB (its function's `memory`, else `limits.workerMemoryMb`). */
  memoryMb: number;
  /** How to launch it inside a sandbox (`WorkerSandbox.launch`); without, a plain Node process. */
  launch?: WorkerLaunch;
  /** The cgroup holding its memory and cpu limits; removed when it goes. */
  cgroup?: WorkerCgroup;
}

/** Starts a worker; the dispatcher takes one so tests can give it fakes. */
export type WorkerFactory = (config: WorkerConfig, env: NodeJS.ProcessEnv, events: WorkerEvents, options: WorkerOptions) => WorkerProcess;

/** What the dispatcher needs of a worker: the real one is a child process, tests use fakes. */
export interface WorkerProcess {
  /** `busy` while it runs at least one call (the dispatcher's WorkerSlots keeps which, and sets it). */
  state: "starting" | "idle" | "busy" | "stopping" | "exited";
  /** Whether it ever became ready: a worker that dies before that failed to start. */
  everReady: boolean;
  /** Set when the worker said why it could not start, so its exit is not reported twice. */
  startFailureReported: boolean;
  /** When it last finished a call (or became ready). */
  idleSince: number;
  /** Set when it died for going past its memory: its heap ran out, or the kernel killed it at its cgroup's limit. */
  overMemory?: boolean;
  /** Resolves once the process has exited (and its last output was read, or a short wait passed). */
  readonly exited: Promise<void>;
  readonly id: string;
  /** Sends a call; throws (and sends nothing) when the call cannot be serialized. */
  run(callId: string, args: Encoded[]): void;
  /** Asks the worker to run its exit hooks and leave; kills it if it has not after `graceMs`. */
  shutdown(graceMs: number): void;
  /** Kills the worker and everything it started. */
  kill(): void;
}

/** Starts a real worker process. */
export const forkWorker: WorkerFactory = (config, env, events, options) => new ChildWorkerProcess(config, env, events, options);

/**
 * One worker: a Node child process that loads the app's code and serves one function (one call
 * at a time, or up to its `concurrentInputs`) over its IPC channel. It leads a process group of its own, so killing it kills what
 * it started; it counts as gone once its process has exited, whatever its children hold open.
 */
export class ChildWorkerProcess implements WorkerProcess {
  state: WorkerProcess["state"] = "starting";
  everReady = false;
  startFailureReported = false;
  idleSince = 0;
  overMemory = false;
  private readonly cgroup?: WorkerCgroup;
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private markExited!: () => void;
  /** What it had started when it was asked to leave: killed once it has, if still there. */
  private leftovers: ProcessRef[] = [];

  constructor(
    readonly config: WorkerConfig,
    env: NodeJS.ProcessEnv,
    private readonly events: WorkerEvents,
    options: WorkerOptions,
  ) {
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    // A runaway function dies of "heap out of memory" (and fails its call) before it hurts the machine.
    const plain = options.launch ?? { execPath: process.execPath, execArgv: [`--max-old-space-size=${options.memoryMb}`] };
    this.cgroup = options.cgroup;
    const launch = this.cgroup ? this.cgroup.wrap(plain) : plain;
    this.child = fork(WORKER_MAIN, [], {
      execPath: launch.execPath,
      execArgv: launch.execArgv,
      env: { ...env, STUBRUN_WORKER_CONFIG: JSON.stringify(config) },
      // SPEC §2: a function runs at the root of its uploaded code.
      cwd: config.codeDir,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
      // Its own process group (and session): one kill of -pid reaches everything it started.
      detached: true,
    });
    this.child.stdout?.setEncoding("utf8").on("data", guard(`the stdout event of worker ${config.workerId}`, (data: string) => events.rawOutput(this, "stdout", data)));
    this.child.stderr?.setEncoding("utf8").on(
      "data",
      guard(`the stderr event of worker ${config.workerId}`, (data: string) => {
        // What V8 writes as it dies at its heap cap.
        if (data.includes("JavaScript heap out of memory")) this.overMemory = true;
        events.rawOutput(this, "stderr", data);
      }),
    );
    // A grandchild holding the pipes may see them fail once the worker is gone: nothing to do.
    this.child.stdout?.on("error", () => {});
    this.child.stderr?.on("error", () => {});
    this.child.on("message", guard(`the message event of worker ${config.workerId}`, (raw: unknown) => this.onMessage(raw)));
    this.child.on(
      "error",
      guard(`the error event of worker ${config.workerId}`, (error: Error) => {
        // A process that could not be spawned at all never exits: report it gone here.
        if (this.child.pid === undefined) this.gone(`a failure to start (${error.message})`);
      }),
    );
    const sandboxed = options.launch !== undefined;
    this.child.on("exit", guard(`the exit event of worker ${config.workerId}`, (code: number | null, signal: NodeJS.Signals | null) => this.onProcessExit(exitDescription(code, signal, sandboxed))));
  }

  get id(): string {
    return this.config.workerId;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  run(callId: string, args: Encoded[]): void {
    this.send({ type: "run", callId, args }); // throws when it cannot be sent: the dispatcher then records nothing
  }

  shutdown(graceMs: number): void {
    if (this.state === "exited" || this.state === "stopping") return;
    this.state = "stopping";
    if (this.child.pid !== undefined) this.leftovers = descendantsOf(this.child.pid);
    try {
      this.send({ type: "shutdown" });
    } catch {
      // cannot happen for this message; the kill below ends it anyway
    }
    setTimeout(() => this.kill(), graceMs).unref();
  }

  kill(): void {
    if (this.state === "exited" || this.child.pid === undefined) return;
    killProcessTree(this.child.pid);
  }

  /** Sends a message; a closed channel is ignored (the exit follows), a value JSON cannot write throws. */
  private send(message: ToWorkerMessage): void {
    if (!this.child.connected) return;
    this.child.send(message, (error) => {
      void error; // the channel closed under it: the worker's exit is reported on its own
    });
  }

  private onMessage(raw: unknown): void {
    let message: FromWorkerMessage;
    try {
      message = validateWorkerMessage(raw);
    } catch (error) {
      this.events.rawOutput(this, "stderr", `stubrun: ignored a malformed message from worker ${this.id}: ${toWireError(error).message}\n`);
      return;
    }
    this.events.message(this, message);
  }

  /**
   * The process has exited. What it started in its group goes with it; output still in the
   * pipes is read until they close or a short wait passes, whichever comes first.
   */
  private onProcessExit(description: string): void {
    if (this.child.pid !== undefined) killLeftovers(this.child.pid, this.leftovers);
    if (this.cgroup) {
      if (this.cgroup.oomKilled()) this.overMemory = true;
      this.cgroup.remove();
    }
    const timer = setTimeout(
      guard(`the exit event of worker ${this.id}`, () => {
        this.child.stdout?.destroy();
        this.child.stderr?.destroy();
        this.gone(description);
      }),
      OUTPUT_AFTER_EXIT_MS,
    );
    this.child.once(
      "close",
      guard(`the close event of worker ${this.id}`, () => {
        clearTimeout(timer);
        this.gone(description);
      }),
    );
  }

  private gone(description: string): void {
    if (this.state === "exited") return;
    this.state = "exited";
    try {
      this.events.exit(this, description);
    } finally {
      this.markExited();
    }
  }
}

/**
 * "signal SIGKILL" or "code 1". A sandboxed worker's Node runs under bubblewrap, which exits
 * with 128 + the signal that ended it: that is said as the signal, as for a plain worker.
 */
function exitDescription(code: number | null, signal: NodeJS.Signals | null, sandboxed: boolean): string {
  if (signal) return `signal ${signal}`;
  if (sandboxed && code !== null && code > 128) {
    const name = Object.entries(os.constants.signals).find(([, number]) => number === code - 128)?.[0];
    if (name) return `signal ${name}`;
  }
  return `code ${code}`;
}
