import { IpcBatcher, ipcMessages, systemWireError, toWireError, UncarriableValueError, type Encoded, validateWorkerMessage, type FromWorkerMessage, type ToWorkerMessage, type WorkerConfig } from "@stubrun/protocol";
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

/**
 * `STUBRUN_PROFILE_DIR` on the server (bench/profile.ts): its workers write a V8 CPU profile there
 * when they exit. The worker's environment is SPEC §2's alone, so NODE_OPTIONS cannot do this.
 */
function profileArgs(): string[] {
  const dir = process.env.STUBRUN_PROFILE_DIR;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/**
 * Forks a worker process. With STUBRUN_WORKER_CONFIG in `env` it loads that function's code at
 * once; without, it loads the runtime and waits for a `load` message (worker-pool-prestart.ts).
 */
export function spawnWorker(env: NodeJS.ProcessEnv, cwd: string, memoryMb: number, launch?: WorkerLaunch): ChildProcess {
  return fork(WORKER_MAIN, [], {
    env,
    cwd,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    serialization: "json",
    // Its own process group (and session): one kill of -pid reaches everything it started.
    detached: true,
    // Inside a sandbox, bubblewrap runs Node (WorkerSandbox.launch); else Node itself. A runaway
    // function dies of "heap out of memory" (and fails its call) before it hurts the machine.
    execPath: launch?.execPath ?? process.execPath,
    execArgv: [...(launch?.execArgv ?? [`--max-old-space-size=${memoryMb}`]), ...profileArgs()],
  });
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

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
  /** Sends a call (with the turn's other messages). One that cannot be sent fails: it throws here, or its worker reports it done with an error. */
  run(callId: string, args: Encoded[]): void;
  /** Sends a call the worker runs after those it has (prefetch); absent on workers that cannot queue calls. */
  prefetch?(callId: string, args: Encoded[]): void;
  /** Takes back a call sent ahead that the worker has not started. */
  drop?(callId: string): void;
  /** Asks the worker to run its exit hooks and leave; kills it if it has not after `graceMs`. */
  shutdown(graceMs: number): void;
  /** Kills the worker and everything it started. */
  kill(): void;
}

/** A worker process started ahead with no code (worker-pool-prestart.ts), alive. */
export interface PrestartedProcess {
  child: ChildProcess;
  /** A sandbox's: resolves once its function's folders are mounted in it; it is told to load them then. */
  ready?: Promise<void>;
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
  /** A turn's messages to the worker, in one write. */
  private readonly outbox: IpcBatcher<ToWorkerMessage>;

  constructor(
    readonly config: WorkerConfig,
    env: NodeJS.ProcessEnv,
    private readonly events: WorkerEvents,
    options: WorkerOptions,
    /** A worker process started ahead: it is told to load this function's code. */
    prestarted?: PrestartedProcess,
  ) {
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.outbox = new IpcBatcher<ToWorkerMessage>(
      (payload) => this.write(payload),
      (message, error) => this.unsendable(message, error),
    );
    this.cgroup = options.cgroup;
    if (prestarted) {
      this.child = prestarted.child;
      const load = () => this.send({ type: "load", config, env: definedOnly(env) });
      if (!prestarted.ready) load();
      else
        prestarted.ready.then(
          guard(`the load of worker ${config.workerId}`, load),
          guard(`the failed mount of worker ${config.workerId}`, (error: Error) => {
            // It never becomes this function's worker: its exit is reported as a failed start, with why.
            events.rawOutput(this, "stderr", `stubrun: the sandbox started ahead for worker ${config.workerId} could not mount its code (${error.message})\n`);
            this.kill();
          }),
        );
    } else {
      // A worker with a cgroup enters it before its Node (or bubblewrap) runs (memory-cgroup.ts).
      const plain = options.launch ?? (this.cgroup ? { execPath: process.execPath, execArgv: [`--max-old-space-size=${options.memoryMb}`] } : undefined);
      const launch = this.cgroup && plain ? this.cgroup.wrap(plain) : plain;
      // SPEC §2: a function runs at the root of its uploaded code.
      this.child = spawnWorker({ ...env, STUBRUN_WORKER_CONFIG: JSON.stringify(config) }, config.codeDir, options.memoryMb, launch);
    }
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

  prefetch(callId: string, args: Encoded[]): void {
    this.send({ type: "run", callId, args });
  }

  drop(callId: string): void {
    this.send({ type: "drop", callId });
  }

  shutdown(graceMs: number): void {
    if (this.state === "exited" || this.state === "stopping") return;
    this.state = "stopping";
    if (this.child.pid !== undefined) this.leftovers = descendantsOf(this.child.pid);
    this.send({ type: "shutdown" });
    setTimeout(() => this.kill(), graceMs).unref();
  }

  kill(): void {
    if (this.state === "exited" || this.child.pid === undefined) return;
    killProcessTree(this.child.pid);
  }

  /** Queues a message for this turn's write to the worker. */
  private send(message: ToWorkerMessage): void {
    this.outbox.push(message);
  }

  /** Writes a payload; a closed channel is ignored (the exit follows), a value JSON cannot write throws. */
  private write(payload: ToWorkerMessage | ToWorkerMessage[]): void {
    if (!this.child.connected) return;
    this.child.send(payload, (error) => {
      void error; // the channel closed under it: the worker's exit is reported on its own
    });
  }

  /** A call whose arguments JSON could not write (the server checks their depth, so this should not happen): it fails. */
  private unsendable(message: ToWorkerMessage, error: Error): void {
    if (message.type !== "run") return;
    const refused = new UncarriableValueError(`the call's arguments could not be sent to its worker (${error.message}); pass smaller or less deeply nested values`);
    this.events.message(this, { type: "done", callId: message.callId, ok: false, error: systemWireError(refused) });
  }

  private onMessage(raw: unknown): void {
    for (const item of ipcMessages(raw)) {
      let message: FromWorkerMessage;
      try {
        message = validateWorkerMessage(item);
      } catch (error) {
        this.events.rawOutput(this, "stderr", `stubrun: ignored a malformed message from worker ${this.id}: ${toWireError(error).message}\n`);
        continue;
      }
      this.events.message(this, message);
    }
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
