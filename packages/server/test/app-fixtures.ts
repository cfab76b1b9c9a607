import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_FUNCTION_OPTIONS, RequestRefusedError, type AppManifest, type CodeFile, type FunctionManifest, type FunctionOptionsManifest } from "@stubrun/protocol";
import { AppManager } from "../src/apps/app-manager";
import { AppResolver } from "../src/apps/app-resolver";
import { AppUploads } from "../src/apps/app-uploads";
import { CallRecorder } from "../src/apps/call-recorder";
import { Deployer } from "../src/apps/deployer";
import { AppReloader } from "../src/apps/app-reloader";
import { CodeStore } from "../src/code/code.store";
import { DEFAULT_LIMITS } from "../src/config/limits";
import type { CallObserver, CallRequest, Dispatcher } from "../src/dispatcher/dispatcher";
import { AppsRepository } from "../src/state/apps.repository";
import { CallsRepository } from "../src/state/calls.repository";
import { openDatabase, type StateDatabase } from "../src/state/database";
import { LogsRepository } from "../src/state/logs.repository";
import { VersionsRepository } from "../src/state/versions.repository";

/** A dispatcher that runs nothing: it records what it was asked, and the test ends each call. */
export class FakeDispatcher implements Dispatcher {
  readonly queued = new Map<string, { call: CallRequest; observer: CallObserver }>();
  readonly warm: string[] = [];
  readonly retired: string[] = [];
  readonly stopped: string[] = [];
  /** Set to make admit refuse, as a full queue does. */
  full = false;

  admit(appId: string): void {
    if (this.full) throw new RequestRefusedError(`app ${appId} has too many queued calls`);
  }

  enqueue(call: CallRequest, observer: CallObserver): void {
    this.queued.set(call.callId, { call, observer });
  }

  cancel(callId: string): boolean {
    const entry = this.queued.get(callId);
    if (!entry) return false;
    this.finish(callId, { state: "cancelled", error: { name: "CancelledError", message: "cancelled" } });
    return true;
  }

  keepWarm(appId: string, fn: FunctionManifest): void {
    this.warm.push(`${appId} ${fn.name}`);
  }

  retire(appId: string, codeDir: string): void {
    this.retired.push(`${appId} ${path.basename(codeDir)}`);
  }

  async stopApp(appId: string): Promise<void> {
    this.stopped.push(appId);
    for (const [callId, { call }] of this.queued) {
      if (call.appId === appId) this.finish(callId, { state: "cancelled", error: { name: "CancelledError", message: "app stopped" } });
    }
  }

  runningTasks(appId: string): number {
    return [...this.queued.values()].filter((q) => q.call.appId === appId).length;
  }

  async close(): Promise<void> {}

  /** Ends a call as a worker would. */
  finish(callId: string, outcome: Parameters<CallObserver["finished"]>[0]): void {
    const entry = this.queued.get(callId);
    if (!entry) throw new Error(`no queued call ${callId}`);
    this.queued.delete(callId);
    entry.observer.finished(outcome);
  }
}

/** A function of the manifest, with default options over `options`. */
export function fn(name: string, options: Partial<FunctionOptionsManifest> = {}, kind: FunctionManifest["kind"] = "function"): FunctionManifest {
  const [className, methodName] = name.split(".");
  return { name, className, methodName, kind, options: { ...DEFAULT_FUNCTION_OPTIONS, ...options }, params: [] };
}

export function manifest(functions: FunctionManifest[], name?: string): AppManifest {
  return { ...(name === undefined ? {} : { name }), entry: "main.js", projectRoot: "/project", functions };
}

export function files(code = "module.exports = {};"): CodeFile[] {
  return [{ path: "main.js", code }];
}

/** The server's app objects over a temp SQLite (the real openDatabase) and a fake dispatcher. */
export interface AppWorld {
  home: string;
  db: StateDatabase;
  appsRepo: AppsRepository;
  callsRepo: CallsRepository;
  logsRepo: LogsRepository;
  versionsRepo: VersionsRepository;
  dispatcher: FakeDispatcher;
  manager: AppManager;
  resolver: AppResolver;
  deployer: Deployer;
  reloader: AppReloader;
  /** The app's log lines, flushed, as text. */
  logLines(appId: string): string[];
  close(): void;
}

export function appWorld(): AppWorld {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-apps-"));
  const db = openDatabase(home);
  const appsRepo = new AppsRepository(db);
  const callsRepo = new CallsRepository(db);
  const logsRepo = new LogsRepository(db);
  const versionsRepo = new VersionsRepository(db);
  const dispatcher = new FakeDispatcher();
  const uploads = new AppUploads(new CodeStore(path.join(home, "code")), DEFAULT_LIMITS);
  const manager = new AppManager(appsRepo, versionsRepo, uploads, new CallRecorder(callsRepo, logsRepo), dispatcher, DEFAULT_LIMITS);
  const resolver = new AppResolver(appsRepo);
  const deployer = new Deployer(db, appsRepo, versionsRepo, resolver, uploads, manager);
  const reloader = new AppReloader(appsRepo, uploads, manager);
  return {
    home,
    db,
    appsRepo,
    callsRepo,
    logsRepo,
    versionsRepo,
    dispatcher,
    manager,
    resolver,
    deployer,
    reloader,
    logLines: (appId) => logsRepo.recent(appId, 1_000).entries.map((e) => e.data.trimEnd()),
    close: () => {
      db.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The fake clock's start in tests that use `withAppWorld`. */
export const T0 = Date.parse("2031-01-01T00:00:00Z");

/** A fresh AppWorld for each test, with jest's fake timers at `T0`; closed after it. */
export function withAppWorld(use: (world: AppWorld) => void): void {
  let world: AppWorld | undefined;
  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    use((world = appWorld()));
  });
  afterEach(() => {
    world?.close();
    jest.useRealTimers();
  });
}
