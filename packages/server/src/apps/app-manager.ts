import {
  RequestRefusedError,
  type AppManifest,
  type CodeFile,
  type Encoded,
  type FunctionManifest,
  type WireError,
} from "@stubrun/protocol";
import type { CodeStore } from "../code/code.store";
import type { CallOutcome, Dispatcher } from "../dispatcher/dispatcher";
import type { AppRecord, AppsRepository } from "../state/apps.repository";
import type { CallsRepository } from "../state/calls.repository";
import type { LogsRepository } from "../state/logs.repository";
import { newId } from "./ids";

/** Whoever started a call, and receives its output and result. */
export interface CallListener {
  output(callId: string, stream: "stdout" | "stderr", data: string): void;
  result(callId: string, outcome: CallOutcome): void;
}

/** The client that runs an app: it also sees its workers' output outside calls. */
export interface AppOwner {
  appOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void;
}

/** An app that is running on this server. */
interface RunningApp {
  record: AppRecord;
  functions: Map<string, FunctionManifest>;
  /** The client whose connection keeps an ephemeral app alive. */
  owner: AppOwner | undefined;
  activeCalls: Set<string>;
}

/**
 * The apps this server runs: creates them from an upload, starts their calls on the dispatcher,
 * and stops them (with their calls and workers) when asked or when their client is gone.
 */
export class AppManager {
  private readonly running = new Map<string, RunningApp>();
  private callSeq = 0;
  private readonly callPrefix = `fc-${newId("").slice(1, 7)}`;

  constructor(
    private readonly apps: AppsRepository,
    private readonly calls: CallsRepository,
    private readonly code: CodeStore,
    private readonly dispatcher: Dispatcher,
    private readonly logs: LogsRepository,
  ) {}

  create(manifest: AppManifest, files: CodeFile[], options: { detach: boolean; owner: AppOwner }): AppRecord {
    if (!files.some((f) => f.path === manifest.entry)) {
      throw new RequestRefusedError(`the upload has no entry file "${manifest.entry}"`);
    }
    const names = new Set<string>();
    for (const fn of manifest.functions) {
      if (names.has(fn.name)) throw new RequestRefusedError(`the manifest names function ${fn.name} twice`);
      names.add(fn.name);
    }
    const record: AppRecord = {
      id: newId("ap"),
      name: manifest.name ?? null,
      state: options.detach ? "detached" : "ephemeral",
      version: 1,
      createdAt: Date.now(),
      stoppedAt: null,
      manifest,
      codeDir: this.code.put(files),
    };
    this.apps.insert(record);
    this.running.set(record.id, {
      record,
      functions: new Map(manifest.functions.map((f) => [f.name, f])),
      owner: options.owner,
      activeCalls: new Set(),
    });
    this.logs.append({ appId: record.id, callId: null, functionName: null, stream: "system", data: `app ${record.id} created (${record.state})\n` });
    this.warmUp(record);
    return record;
  }

  /** Starts a call and returns its id; its output and result go to `listener`. */
  startCall(appId: string, functionName: string, args: Encoded[], listener: CallListener): string {
    const app = this.running.get(appId);
    if (!app || app.record.state === "stopped") {
      const known = this.apps.get(appId);
      throw new RequestRefusedError(known ? `app ${appId} is stopped` : `no app with id ${appId}`);
    }
    const fn = app.functions.get(functionName);
    if (!fn) {
      const names = [...app.functions.keys()].join(", ") || "none";
      throw new RequestRefusedError(`app ${appId} has no function ${functionName}; its functions are: ${names}`);
    }
    const callId = `${this.callPrefix}${(++this.callSeq).toString(36)}`;
    app.activeCalls.add(callId);
    this.calls.started(callId, appId, functionName, Date.now());
    const { record } = app;
    this.dispatcher.enqueue(
      { callId, appId, fn, args, code: { dir: record.codeDir, entry: record.manifest.entry, projectRoot: record.manifest.projectRoot } },
      {
        output: (stream, data) => {
          this.logs.append({ appId, callId, functionName, stream, data });
          listener.output(callId, stream, data);
        },
        attempt: (n) => n > 1 && this.calls.attempt(callId, n),
        finished: (outcome) => {
          const error = "error" in outcome ? describe(outcome.error) : undefined;
          this.calls.finished(callId, outcome.state, Date.now(), error);
          this.logs.callEnded(callId);
          if (error) this.logs.append({ appId, callId, functionName, stream: "system", data: `${functionName} call ${callId} ${outcome.state.replace("_", " ")}: ${error}\n` });
          app.activeCalls.delete(callId);
          listener.result(callId, outcome);
          if (app.owner === undefined && app.record.state === "detached" && app.activeCalls.size === 0) void this.stop(appId);
        },
      },
    );
    return callId;
  }

  /** Output of a worker outside any call (enter and exit hooks): kept in the app's logs and shown to its client. */
  workerOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void {
    this.logs.append({ appId, callId: null, functionName, stream, data });
    this.running.get(appId)?.owner?.appOutput(appId, functionName, stream, data);
  }

  cancelCall(callId: string): boolean {
    return this.dispatcher.cancel(callId);
  }

  /** Stops an app: its calls end as cancelled, its workers are killed. False if it was not running. */
  async stop(appId: string): Promise<boolean> {
    const app = this.running.get(appId);
    if (!app || app.record.state === "stopped") return false;
    app.record.state = "stopped"; // no new calls from here on
    this.apps.markStopped(appId, Date.now());
    await this.dispatcher.stopApp(appId); // exit hooks may still print to the app's client
    this.running.delete(appId);
    this.calls.flush();
    this.logs.append({ appId, callId: null, functionName: null, stream: "system", data: `app ${appId} stopped\n` });
    this.logs.flush();
    return true;
  }

  /** The owner's connection is gone: ephemeral apps stop; detached ones live until their last call ends. */
  async ownerGone(owner: AppOwner): Promise<void> {
    const stops: Promise<boolean>[] = [];
    for (const app of this.running.values()) {
      if (app.owner !== owner) continue;
      app.owner = undefined;
      if (app.record.state === "ephemeral" || app.activeCalls.size === 0) stops.push(this.stop(app.record.id));
    }
    await Promise.all(stops);
  }

  /** Starts the `keepWarm` workers of each function, so they are ready before the first call. */
  private warmUp(record: AppRecord): void {
    const code = { dir: record.codeDir, entry: record.manifest.entry, projectRoot: record.manifest.projectRoot };
    for (const fn of record.manifest.functions) {
      if (fn.options.keepWarm > 0) this.dispatcher.keepWarm(record.id, fn, code);
    }
  }

  isRunning(appId: string): boolean {
    const app = this.running.get(appId);
    return app !== undefined && app.record.state !== "stopped";
  }

  runningTasks(appId: string): number {
    return this.dispatcher.runningTasks(appId);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
  }
}

function describe(error: WireError): string {
  return `${error.name}: ${error.message}`;
}
