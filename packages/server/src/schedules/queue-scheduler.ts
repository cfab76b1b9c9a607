import { nextCronTime, parseCron, type ScheduleManifest } from "@stubrun/protocol";
import { Queue, Worker, type ConnectionOptions, type Job, type RepeatOptions } from "bullmq";
import type { AppListener, AppManager } from "../apps/app-manager";
import type { AppRecord } from "../state/apps.repository";
import type { VersionsRepository } from "../state/versions.repository";
import { nextFireTime } from "./scheduler";

/** The BullMQ queue of every deployed app's schedules (one job scheduler per scheduled function). */
export const SCHEDULES_QUEUE = "stubrun-schedules";

/** A tick later than this (no server was up to take it) is skipped, as the embedded scheduler skips runs missed while it was down. */
const LATE_TICK_MS = 60_000;

/** What a tick's job carries. */
interface TickData {
  appId: string;
  functionName: string;
}

/**
 * Cron expressions follow stubrun's own rules (`nextCronTime`, the same as the embedded
 * scheduler's), not BullMQ's cron parser: given to both the queue and the worker.
 */
const repeatStrategy = (millis: number, opts: RepeatOptions): number | undefined =>
  opts.pattern === undefined ? undefined : nextCronTime(parseCron(opts.pattern), millis, opts.tz ?? "UTC");

/** A schedule's job scheduler id: the app and the function. */
export function schedulerId(appId: string, functionName: string): string {
  return `${appId}:${functionName}`;
}

/**
 * The scheduler of `stubrun server --queue`: each deployed app's Cron and Period schedules are
 * BullMQ job schedulers in Redis (`Queue.upsertJobScheduler`), replaced when the app is deployed
 * again and removed when it stops or is deleted; there is no timer of the server's own. Each
 * tick is one job, taken by one server's worker, which starts the function as an ordinary call:
 * so a schedule fires once per tick whatever the number of servers and nodes. As the embedded
 * `Scheduler`: a Period counts from the app's latest deploy, a tick missed while no server was
 * up is skipped, and a schedule that cannot be armed is noted in the app's logs.
 */
export class QueueScheduler implements AppListener {
  private readonly queue: Queue;
  private readonly worker: Worker<TickData>;
  /** Redis work per app, in order (a redeploy's removal before its new schedules). */
  private readonly chains = new Map<string, Promise<void>>();
  /** Apps this server gave schedules to (an ephemeral app never had any: no Redis round trip for it). */
  private readonly armed = new Set<string>();
  private closed = false;

  constructor(
    private readonly manager: AppManager,
    private readonly versions: VersionsRepository,
    connection: ConnectionOptions,
    private readonly log: (appId: string, line: string) => void,
    private readonly serverLog: (line: string) => void,
  ) {
    this.queue = new Queue(SCHEDULES_QUEUE, { connection, settings: { repeatStrategy } });
    this.queue.on("error", () => undefined); // the dispatcher's queues say when Redis is down
    // Ticks are taken once the deployed apps are served again (`start`): a tick of one not yet served is not stale.
    this.worker = new Worker<TickData>(SCHEDULES_QUEUE, (job) => this.tick(job), { connection, concurrency: 16, autorun: false, settings: { repeatStrategy } });
    this.worker.on("error", () => undefined);
  }

  appChanged(record: AppRecord): void {
    if (this.closed) return;
    const appId = record.id;
    let deployedAt = record.createdAt;
    try {
      deployedAt = this.versions.get(appId, record.version)?.createdAt ?? record.createdAt;
    } catch {
      // an unreadable version row: count periods from the app's creation
    }
    if (record.state !== "deployed") return this.appStopped(appId);
    const scheduled = record.manifest.functions.filter((fn) => fn.options.schedule);
    this.armed.add(appId);
    this.then(appId, async () => {
      await this.removeAll(appId);
      for (const fn of scheduled) await this.arm(appId, fn.name, fn.options.schedule as ScheduleManifest, deployedAt);
    });
  }

  appStopped(appId: string): void {
    // A server shutting down leaves deployed apps' schedules in Redis: they are the app's, not the server's.
    if (this.closed || !this.armed.delete(appId)) return;
    this.then(appId, () => this.removeAll(appId));
  }

  /** When a deployed app's scheduled function runs next (the apps page), as the embedded scheduler says it. */
  nextRun(record: AppRecord, functionName: string): number | undefined {
    const schedule = record.manifest.functions.find((f) => f.name === functionName)?.options.schedule;
    if (!schedule || !this.armed.has(record.id)) return undefined;
    try {
      return nextFireTime(schedule, this.versions.get(record.id, record.version)?.createdAt ?? record.createdAt, Date.now());
    } catch {
      return undefined; // a cron with no next time, or an unreadable version row
    }
  }

  /** Takes ticks from now on (once the deployed apps are served again). */
  start(): void {
    void this.worker.run().catch((error: Error) => this.serverLog(`stubrun server: schedules stopped: ${error.message}`));
  }

  /** Stops taking ticks; the schedules stay in Redis for the next server. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.chains.values()]);
    await this.worker.close().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
  }

  private then(appId: string, work: () => Promise<void>): void {
    const chain = (this.chains.get(appId) ?? Promise.resolve())
      .then(work)
      .catch((error: Error) => this.serverLog(`stubrun server: the schedules of app ${appId} could not be changed in Redis: ${error.message}`));
    this.chains.set(appId, chain);
    void chain.finally(() => {
      if (this.chains.get(appId) === chain) this.chains.delete(appId);
    });
  }

  private async arm(appId: string, functionName: string, schedule: ScheduleManifest, deployedAt: number): Promise<void> {
    let next: number;
    try {
      next = nextFireTime(schedule, deployedAt, Date.now());
    } catch (error) {
      this.log(appId, `schedule: ${functionName} is not scheduled: ${(error as Error).message}`);
      return;
    }
    const repeat: RepeatOptions =
      schedule.kind === "cron"
        ? { pattern: schedule.expression, ...(schedule.timezone ? { tz: schedule.timezone } : {}) }
        : { every: schedule.seconds * 1000, startDate: next };
    const data: TickData = { appId, functionName };
    await this.queue.upsertJobScheduler(schedulerId(appId, functionName), repeat, { name: functionName, data, opts: { removeOnComplete: true, removeOnFail: true } });
  }

  /** Removes every schedule of the app from Redis, those of a server that ran before included. */
  private async removeAll(appId: string): Promise<void> {
    const prefix = schedulerId(appId, "");
    const schedulers = await this.queue.getJobSchedulers(0, -1);
    for (const s of schedulers) if (s.key.startsWith(prefix)) await this.queue.removeJobScheduler(s.key);
  }

  /** One tick: the function starts as an ordinary call (it runs on a node, through its queue). */
  private async tick(job: Job<TickData>): Promise<void> {
    const { appId, functionName } = job.data;
    const due = job.opts.prevMillis ?? job.timestamp;
    if (Date.now() - due > LATE_TICK_MS) {
      this.log(appId, `schedule: skipped the run of ${functionName} due at ${new Date(due).toISOString()} (no server was up to start it)`);
      return;
    }
    if (!this.manager.isRunning(appId)) {
      // An app stopped or deleted while no server was up: its schedule goes.
      await this.queue.removeJobScheduler(job.repeatJobKey ?? schedulerId(appId, functionName)).catch(() => undefined);
      return;
    }
    try {
      const callId = this.manager.startCall(appId, functionName, [], { output: () => {}, result: () => {} });
      this.log(appId, `schedule: started ${functionName} as call ${callId}`);
    } catch (error) {
      this.log(appId, `schedule: could not start ${functionName}: ${(error as Error).message}`);
    }
  }
}
