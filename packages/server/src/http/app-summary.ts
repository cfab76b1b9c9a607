import type { AppSummary } from "@stubrun/protocol";
import type { AppManager } from "../apps/app-manager";
import type { AppRecord } from "../state/apps.repository";

/** An app as the apps API and the apps page show it: its stored record and what this server knows of it. */
export function toAppSummary(app: AppRecord, manager: AppManager): AppSummary {
  const failure = manager.failure(app.id);
  return {
    ...(failure === undefined ? {} : { failure }),
    id: app.id,
    name: app.name,
    state: manager.stateOf(app),
    version: app.version,
    createdAt: new Date(app.createdAt).toISOString(),
    stoppedAt: app.stoppedAt === null ? null : new Date(app.stoppedAt).toISOString(),
    runningTasks: manager.workerCount(app.id),
    functions: app.manifest.functions.map((f) => f.name),
  };
}
