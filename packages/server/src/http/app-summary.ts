import type { AppSummary } from "@stubrun/protocol";
import type { AppManager } from "../apps/app-manager";
import type { AppRecord, AppsRepository } from "../state/apps.repository";

/**
 * Apps as the apps API and the apps page show them: each stored record with what this server
 * knows of it (running, failed, its workers).
 */
export class AppSummaries {
  constructor(
    private readonly appsRepo: AppsRepository,
    private readonly manager: AppManager,
  ) {}

  /** Every app (of one environment, if given), newest first. */
  list(env?: string): AppSummary[] {
    return this.appsRepo.list().filter((app) => env === undefined || app.env === env).map((app) => this.of(app));
  }

  of(app: AppRecord): AppSummary {
    const failure = this.manager.failure(app.id);
    return {
      ...(failure === undefined ? {} : { failure }),
      id: app.id,
      name: app.name,
      env: app.env,
      state: this.manager.stateOf(app),
      version: app.version,
      createdAt: new Date(app.createdAt).toISOString(),
      stoppedAt: app.stoppedAt === null ? null : new Date(app.stoppedAt).toISOString(),
      runningTasks: this.manager.workerCount(app.id),
      functions: app.manifest.functions.map((f) => f.name),
    };
  }
}
