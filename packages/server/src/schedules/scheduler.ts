import { nextCronTime, parseCron, type ScheduleManifest } from "@stubrun/protocol";
import type { AppListener, AppManager } from "../apps/app-manager";
import type { AppRecord } from "../state/apps.repository";
import type { VersionsRepository } from "../state/versions.repository";

/** setTimeout holds at most this many ms; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Fires scheduled functions of deployed apps. Each app's timers are rebuilt whenever its code
 * changes and dropped when it stops. Fire times are computed from now, so runs missed while the
 * server was down are skipped, not caught up. A `Period` counts from the app's latest deploy.
 * It never throws: a schedule it cannot arm (a cron with no next time) is noted in the app's
 * logs and left unarmed, and the rest of the app (and the server) go on.
 */
export class Scheduler implements AppListener {
  private readonly timers = new Map<string, NodeJS.Timeout[]>();

  constructor(
    private readonly manager: AppManager,
    private readonly versions: VersionsRepository,
    private readonly log: (appId: string, line: string) => void,
  ) {}

  appChanged(record: AppRecord): void {
    this.appStopped(record.id);
    if (record.state !== "deployed") return;
    const deployedAt = this.deployedAt(record);
    const timers: NodeJS.Timeout[] = [];
    this.timers.set(record.id, timers);
    for (const fn of record.manifest.functions) {
      const schedule = fn.options.schedule;
      if (schedule) this.armSafely(record.id, fn.name, schedule, deployedAt, timers);
    }
  }

  /** When a scheduled function of a running deployed app fires next (the apps page); undefined when it is not armed. */
  nextRun(record: AppRecord, functionName: string): number | undefined {
    const schedule = record.manifest.functions.find((f) => f.name === functionName)?.options.schedule;
    if (!schedule || !this.timers.has(record.id)) return undefined;
    try {
      return nextFireTime(schedule, this.deployedAt(record), Date.now());
    } catch {
      return undefined; // a cron with no next time: said in the app's logs when it was armed
    }
  }

  private deployedAt(record: AppRecord): number {
    try {
      return this.versions.get(record.id, record.version)?.createdAt ?? record.createdAt;
    } catch {
      return record.createdAt; // an unreadable version row: count periods from the app's creation
    }
  }

  appStopped(appId: string): void {
    for (const timer of this.timers.get(appId) ?? []) clearTimeout(timer);
    this.timers.delete(appId);
  }

  close(): void {
    for (const appId of [...this.timers.keys()]) this.appStopped(appId);
  }

  private armSafely(appId: string, functionName: string, schedule: ScheduleManifest, deployedAt: number, timers: NodeJS.Timeout[]): void {
    try {
      this.arm(appId, functionName, schedule, deployedAt, timers);
    } catch (error) {
      this.log(appId, `schedule: ${functionName} is not scheduled: ${(error as Error).message}`);
    }
  }

  private arm(appId: string, functionName: string, schedule: ScheduleManifest, deployedAt: number, timers: NodeJS.Timeout[]): void {
    const at = nextFireTime(schedule, deployedAt, Date.now());
    const wait = (until: number) => {
      const timer = setTimeout(() => {
        timers.splice(timers.indexOf(timer), 1);
        if (Date.now() < until) return wait(until);
        this.fire(appId, functionName);
        if (this.timers.get(appId) === timers) this.armSafely(appId, functionName, schedule, deployedAt, timers);
      }, Math.min(Math.max(until - Date.now(), 0), MAX_TIMER_MS));
      timer.unref();
      timers.push(timer);
    };
    wait(at);
  }

  private fire(appId: string, functionName: string): void {
    try {
      const callId = this.manager.startCall(appId, functionName, [], { output: () => {}, result: () => {} });
      this.log(appId, `schedule: started ${functionName} as call ${callId}`);
    } catch (error) {
      this.log(appId, `schedule: could not start ${functionName}: ${(error as Error).message}`);
    }
  }
}

/** The first fire time after `now`. */
export function nextFireTime(schedule: ScheduleManifest, deployedAt: number, now: number): number {
  if (schedule.kind === "cron") return nextCronTime(parseCron(schedule.expression), now, schedule.timezone);
  const period = schedule.seconds * 1000;
  const elapsed = Math.max(0, now - deployedAt);
  return deployedAt + (Math.floor(elapsed / period) + 1) * period;
}
