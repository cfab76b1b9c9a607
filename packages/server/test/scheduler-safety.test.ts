import { DEFAULT_FUNCTION_OPTIONS, type AppManifest, type ScheduleManifest } from "@stubrun/protocol";
import type { AppManager } from "../src/apps/app-manager";
import { Scheduler } from "../src/schedules/scheduler";
import type { AppRecord } from "../src/state/apps.repository";
import type { VersionsRepository } from "../src/state/versions.repository";

/** Issue 7 point 3: the scheduler never throws; a schedule it cannot arm is noted in the app's logs. */

function record(schedules: ScheduleManifest[]): AppRecord {
  const functions = schedules.map((schedule, i) => ({
    name: `Job.f${i}`,
    className: "Job",
    methodName: `f${i}`,
    kind: "function" as const,
    options: { ...DEFAULT_FUNCTION_OPTIONS, schedule },
    params: [],
  }));
  const manifest: AppManifest = { entry: "main.js", projectRoot: "/tmp", functions };
  return { id: "ap-test", name: "t", state: "deployed", version: 1, createdAt: Date.now(), stoppedAt: null, manifest, codeDir: "/nowhere" };
}

test("a cron with no next time is noted in the app's logs; the app's other schedules are armed", () => {
  const lines: string[] = [];
  const versions = { get: () => { throw new Error("a damaged version row"); } } as unknown as VersionsRepository;
  const scheduler = new Scheduler({} as AppManager, versions, (appId, line) => lines.push(`${appId}: ${line}`));
  const app = record([
    { kind: "cron", expression: "0 0 30 2 *", timezone: "UTC" },
    { kind: "cron", expression: "not a cron", timezone: "UTC" },
    { kind: "period", seconds: 3600 },
  ]);
  expect(() => scheduler.appChanged(app)).not.toThrow();
  expect(lines).toEqual([
    'ap-test: schedule: Job.f0 is not scheduled: cron expression "0 0 30 2 *" never fires: February has no day 30',
    'ap-test: schedule: Job.f1 is not scheduled: cron expression "not a cron" must have 5 fields (minute hour day-of-month month day-of-week), it has 3',
  ]);
  expect((scheduler as unknown as { timers: Map<string, unknown[]> }).timers.get("ap-test")).toHaveLength(1);
  scheduler.close();
});
