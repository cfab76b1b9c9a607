import path from "node:path";
import { checkCallArgs, DEFAULT_ENV, RequestRefusedError, UsageError, type AppSummary, type AppManifest, type CodeFile, type Encoded, type FunctionManifest, type WorkerSummary } from "@stubrun/protocol";
import type { CallOutcome, Dispatcher } from "../dispatcher/dispatcher";
import type { AppRecord, AppsRepository } from "../state/apps.repository";
import type { VersionsRepository } from "../state/versions.repository";
import { DEFAULT_LIMITS } from "../config/limits";
import type { AppUploads } from "./app-uploads";
import { functionMap, versionOf, type AppVersion, type VersionedApp } from "./app-versions";
import type { CallRecorder } from "./call-recorder";
import { describeApp } from "./describe-app";
import { newId } from "./ids";
import type { OptionLimits } from "./manifest-limits";
import { whyStoredAppCannotRun } from "./stored-app.checker";

/** Whoever started a call, and receives its output and result. */
export interface CallListener {
  output(callId: string, stream: "stdout" | "stderr", data: string): void;
  /** A value the call's generator function yielded. */
  yield?(callId: string, value: Encoded): void;
  result(callId: string, outcome: CallOutcome): void;
}

/** The client that runs an app: it also sees its workers' output outside calls. */
export interface AppOwner {
  appOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void;
}

/** Told when an app's code changes or it stops (the scheduler listens). */
export interface AppListener {
  appChanged(record: AppRecord): void;
  appStopped(appId: string): void;
}

/** An app that is running on this server. */
interface RunningApp extends VersionedApp {
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
  private readonly listeners: AppListener[] = [];
  /** Deployed apps that could not be served when the server started, and why. */
  private readonly failures = new Map<string, string>();

  constructor(
    private readonly appsRepo: AppsRepository,
    private readonly versions: VersionsRepository,
    private readonly uploads: AppUploads,
    private readonly recorder: CallRecorder,
    private readonly dispatcher: Dispatcher,
    private readonly limits: OptionLimits = DEFAULT_LIMITS,
  ) {}

  listen(listener: AppListener): void {
    this.listeners.push(listener);
  }

  create(manifest: AppManifest, files: CodeFile[], options: { detach: boolean; owner: AppOwner; env?: string }): AppRecord {
    const env = options.env ?? DEFAULT_ENV;
    const codeDir = this.uploads.store(manifest, files, env);
    const record: AppRecord = {
      id: newId("ap"),
      name: manifest.name ?? null,
      env,
      state: options.detach ? "detached" : "ephemeral",
      version: 1,
      createdAt: Date.now(),
      stoppedAt: null,
      manifest,
      codeDir,
    };
    this.appsRepo.insert(record);
    this.run(record, options.owner);
    return record;
  }

  /**
   * Serves a stored deployed app again when the server starts; one that cannot be served (see
   * whyStoredAppCannotRun) is marked failed, with why in its logs, and nothing else is affected.
   */
  restore(record: AppRecord): void {
    const problem = whyStoredAppCannotRun(record, this.limits);
    if (problem !== undefined) return this.fail(record, problem);
    try {
      this.run(record, undefined);
    } catch (error) {
      this.running.delete(record.id);
      this.fail(record, (error as Error).message);
    }
  }

  private fail(record: AppRecord, why: string): void {
    this.failures.set(record.id, why);
    const name = record.name ?? record.id;
    this.note(record.id, `app ${describeApp(record)} could not start: ${why}; deploy it again once fixed (npx stubrun deploy FILE), or stop it (npx stubrun app stop ${name})`);
  }

  /** Why a deployed app could not be served when the server started, if it could not. */
  failure(appId: string): string | undefined {
    return this.failures.get(appId);
  }

  /** The state an app is in for the apps API: a stored state, or "failed" / "stopped" when this server does not serve it. */
  stateOf(record: AppRecord): AppSummary["state"] {
    if (this.isRunning(record.id)) return record.state;
    return this.failures.has(record.id) && record.state === "deployed" ? "failed" : "stopped";
  }

  /** Starts serving an app that is already stored: a new one, or a deployed one after a restart. */
  run(record: AppRecord, owner: AppOwner | undefined): void {
    this.failures.delete(record.id);
    this.running.set(record.id, { record, functions: functionMap(record.manifest), owner, activeCalls: new Set(), pinned: new Map() });
    this.note(record.id, `app ${record.id} ${owner ? "created" : "started"} (${record.state}, version ${record.version})`);
    this.warmUp(record);
    for (const listener of this.listeners) listener.appChanged(record);
  }

  /**
   * Moves a running app to new code: new calls run it, calls already running finish on the old
   * code, whose idle workers are let go.
   */
  replaceCode(appId: string, version: number, manifest: AppManifest, codeDir: string): AppRecord {
    const stored = this.failures.has(appId) ? this.appsRepo.get(appId) : undefined;
    if (stored) {
      // A deployed app that failed to start gets served from its new version on.
      const record: AppRecord = { ...stored, version, manifest, codeDir, unreadable: undefined };
      this.run(record, undefined);
      return record;
    }
    const app = this.runningApp(appId);
    const oldCodeDir = app.record.codeDir;
    // Workers run in their function's image: a new image needs new workers even for the same code.
    const imagesOf = (m: AppManifest) => JSON.stringify(m.functions.map((f) => [f.name, f.options.image]));
    const imageChanged = imagesOf(app.record.manifest) !== imagesOf(manifest);
    app.record = { ...app.record, version, manifest, codeDir };
    app.functions = functionMap(manifest);
    if (oldCodeDir !== codeDir || imageChanged) this.dispatcher.retire(appId, oldCodeDir);
    this.note(appId, `app ${appId} now runs version ${version}`);
    this.warmUp(app.record);
    for (const listener of this.listeners) listener.appChanged(app.record);
    return app.record;
  }

  /** The running app, or a refusal that says why there is none. */
  runningApp(appId: string): RunningApp {
    const app = this.running.get(appId);
    if (!app || app.record.state === "stopped") {
      const known = this.appsRepo.get(appId);
      const failure = this.failures.get(appId);
      if (known && failure !== undefined) throw new RequestRefusedError(`app ${describeApp(known)} failed to start: ${failure}; deploy it again once fixed`);
      throw new RequestRefusedError(known ? `app ${describeApp(known)} is stopped` : `no app with id ${appId}`);
    }
    return app;
  }

  /** A line of stubrun's own in the app's logs. */
  note(appId: string, line: string): void {
    this.recorder.note(appId, line);
  }

  /** Starts a call and returns its id; its output and result go to `listener`. */
  /**
   * @param stream whether the client iterates what the function yields (`remoteGen`): refused
   *   when it does not match what the function is; undefined for the server's own calls.
   */
  startCall(appId: string, functionName: string, args: Encoded[], listener: CallListener, version?: number, stream?: boolean): string {
    const app = this.runningApp(appId);
    const fn = this.functionOf(app, functionName, version);
    if (stream === false && fn.generator) {
      throw new UsageError(`${functionName} is a generator function: iterate what it yields with for await (const x of fn(...).remoteGen(...)); .remote(), .spawn() and .map() are for functions that return`);
    }
    if (stream === true && !fn.generator) throw new UsageError(`${functionName} is not a generator function: call it with .remote(...), not .remoteGen(...)`);
    const code: AppVersion = versionOf(app, version, this.versions);
    checkCallArgs(fn, args); // `square("abc")` is refused naming the parameter, before anything is recorded
    this.dispatcher.admit(appId); // a full queue refuses the call before anything is recorded
    const callId = `${this.callPrefix}${(++this.callSeq).toString(36)}`;
    app.activeCalls.add(callId);
    this.recorder.started(callId, appId, functionName, args);
    this.dispatcher.enqueue(
      { callId, appId, fn, args, code: { dir: code.codeDir, hash: path.basename(code.codeDir), entry: code.manifest.entry } },
      {
        output: (stream, data) => {
          this.recorder.output(appId, callId, functionName, stream, data);
          listener.output(callId, stream, data);
        },
        yield: (value) => listener.yield?.(callId, value),
        attempt: (n) => this.recorder.attempt(callId, n),
        finished: (outcome) => {
          this.recorder.finished(appId, callId, functionName, outcome);
          app.activeCalls.delete(callId);
          listener.result(callId, outcome);
          if (app.owner === undefined && app.record.state === "detached" && app.activeCalls.size === 0) void this.stop(appId);
        },
      },
    );
    return callId;
  }

  /** A function of a running app (of one of its versions), or a refusal naming what exists. */
  functionOf(app: RunningApp, functionName: string, version?: number): FunctionManifest {
    const { functions } = versionOf(app, version, this.versions);
    const fn = functions.get(functionName);
    if (!fn) {
      const names = [...functions.keys()].join(", ") || "none";
      throw new RequestRefusedError(`app ${describeApp(app.record)} has no function ${functionName}; its functions are: ${names}`);
    }
    return fn;
  }

  /** Output of a worker outside any call (enter and exit hooks): kept in the app's logs and shown to its client. */
  workerOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void {
    this.recorder.workerOutput(appId, functionName, stream, data);
    this.running.get(appId)?.owner?.appOutput(appId, functionName, stream, data);
  }

  /** The app a call belongs to while it runs (a worker's credential may cancel only its own app's calls). */
  appOfCall(callId: string): string | undefined {
    for (const app of this.running.values()) if (app.activeCalls.has(callId)) return app.record.id;
    return undefined;
  }

  cancelCall(callId: string): boolean {
    return this.dispatcher.cancel(callId);
  }

  /** Stops an app: its calls end as cancelled, its workers are killed. False if it was not running. */
  async stop(appId: string): Promise<boolean> {
    if (this.failures.delete(appId)) {
      this.appsRepo.markStopped(appId, Date.now());
      this.note(appId, `app ${appId} stopped`);
      return true;
    }
    const app = this.running.get(appId);
    if (!app || app.record.state === "stopped") return false;
    app.record.state = "stopped"; // no new calls from here on
    this.appsRepo.markStopped(appId, Date.now());
    for (const listener of this.listeners) listener.appStopped(appId);
    await this.dispatcher.stopApp(appId); // exit hooks may still print to the app's client
    this.running.delete(appId);
    this.recorder.appStopped(appId);
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
    const code = { dir: record.codeDir, hash: path.basename(record.codeDir), entry: record.manifest.entry };
    for (const fn of record.manifest.functions) {
      if (fn.options.keepWarm > 0) this.dispatcher.keepWarm(record.id, fn, code);
    }
  }

  isOwnedBy(appId: string, owner: AppOwner): boolean {
    return this.running.get(appId)?.owner === owner;
  }

  /** Running, or still stopping: its workers' exit hooks may print, and its "stopped" line is yet to come. */
  isLive(appId: string): boolean {
    return this.running.has(appId);
  }

  isRunning(appId: string): boolean {
    const app = this.running.get(appId);
    return app !== undefined && app.record.state !== "stopped";
  }

  /** The app's workers, in any state (the dispatcher's `runningTasks` counts them all). */
  workerCount(appId: string): number {
    return this.dispatcher.runningTasks(appId);
  }

  /** The app's workers as the apps page shows them, or undefined when the dispatcher cannot say (queue mode: they run on the nodes). */
  workersOf(appId: string): WorkerSummary[] | undefined {
    return this.dispatcher.workersOf?.(appId);
  }

  /**
   * The server is shutting down: every app's workers stop; ephemeral and detached apps are
   * stopped for good, deployed apps stay deployed and are served again after a restart.
   */
  async shutdown(): Promise<void> {
    await Promise.all(
      [...this.running.values()].map(async (app) => {
        if (app.record.state !== "deployed") return this.stop(app.record.id);
        for (const listener of this.listeners) listener.appStopped(app.record.id);
        this.running.delete(app.record.id);
        await this.dispatcher.stopApp(app.record.id);
      }),
    );
  }
}

