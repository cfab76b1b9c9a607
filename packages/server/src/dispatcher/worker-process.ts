import { toWireError, type Encoded, validateWorkerMessage, type FromWorkerMessage, type ToWorkerMessage, type WorkerConfig } from "@stubrun/protocol";
import { fork, type ChildProcess } from "node:child_process";

const WORKER_MAIN = require.resolve("@stubrun/worker/dist/main.js");

/** The V8 heap limit of each worker: `STUBRUN_WORKER_MEMORY_MB`, default 2048. */
function workerMemoryMb(env: NodeJS.ProcessEnv): number {
  const mb = Number(env.STUBRUN_WORKER_MEMORY_MB);
  return Number.isInteger(mb) && mb >= 64 ? mb : 2048;
}

/** Handles what a worker process says and does. */
export interface WorkerEvents {
  message(worker: WorkerProcess, message: FromWorkerMessage): void;
  /** Output written to the process's own stdout/stderr, outside the SDK's capture. */
  rawOutput(worker: WorkerProcess, stream: "stdout" | "stderr", data: string): void;
  exit(worker: WorkerProcess, description: string): void;
}

/**
 * One worker: a Node child process that loads the app's code and serves one function, one call
 * at a time, over its IPC channel.
 */
export class WorkerProcess {
  state: "starting" | "idle" | "busy" | "stopping" | "exited" = "starting";
  /** The call it is running, when busy. */
  currentCallId: string | undefined;
  /** Whether it ever became ready: a worker that dies before that failed to start. */
  everReady = false;
  /** Set when the worker said why it could not start, so its exit is not reported twice. */
  startFailureReported = false;
  idleTimer: NodeJS.Timeout | undefined;
  /** When it last finished a call (or became ready). */
  idleSince = 0;
  private readonly child: ChildProcess;
  /** Resolves once the process has exited and its output was read. */
  readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(
    readonly config: WorkerConfig,
    env: NodeJS.ProcessEnv,
    private readonly events: WorkerEvents,
  ) {
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.child = fork(WORKER_MAIN, [], {
      env: { ...env, STUBRUN_WORKER_CONFIG: JSON.stringify(config) },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
      // A runaway function dies of "heap out of memory" (and fails its call) before it hurts the machine.
      execArgv: [`--max-old-space-size=${workerMemoryMb(env)}`],
    });
    this.child.stdout?.setEncoding("utf8").on("data", (data: string) => events.rawOutput(this, "stdout", data));
    this.child.stderr?.setEncoding("utf8").on("data", (data: string) => events.rawOutput(this, "stderr", data));
    this.child.on("message", (raw) => {
      let message: FromWorkerMessage;
      try {
        message = validateWorkerMessage(raw);
      } catch (error) {
        events.rawOutput(this, "stderr", `stubrun: ignored a malformed message from worker ${config.workerId}: ${toWireError(error).message}\n`);
        return;
      }
      events.message(this, message);
    });
    // A process that could not be spawned at all never closes: report it gone here.
    this.child.on("error", (error) => {
      if (this.child.pid === undefined) this.gone(`a failure to start (${error.message})`);
    });
    // "close", not "exit": it comes after the last of the worker's stdout and stderr was read,
    // so a crashing worker's final trace still reaches the call it belongs to.
    this.child.on("close", (code, signal) => this.gone(signal ? `signal ${signal}` : `code ${code}`));
  }

  private gone(description: string): void {
    if (this.state === "exited") return;
    this.state = "exited";
    clearTimeout(this.idleTimer);
    this.events.exit(this, description);
    this.markExited();
  }

  get id(): string {
    return this.config.workerId;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: ToWorkerMessage): void {
    if (this.child.connected) this.child.send(message);
  }

  run(callId: string, args: Encoded[]): void {
    this.state = "busy";
    this.currentCallId = callId;
    this.send({ type: "run", callId, args });
  }

  /** Asks the worker to run its exit hooks and leave; kills it if it has not after `graceMs`. */
  shutdown(graceMs: number): void {
    if (this.state === "exited" || this.state === "stopping") return;
    this.state = "stopping";
    clearTimeout(this.idleTimer);
    this.send({ type: "shutdown" });
    setTimeout(() => this.kill(), graceMs).unref();
  }

  kill(): void {
    if (this.state !== "exited") this.child.kill("SIGKILL");
  }
}
