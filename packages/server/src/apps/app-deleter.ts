import { UsageError } from "@stubrun/protocol";
import type { Retention } from "../state/retention";
import type { AppManager } from "./app-manager";
import { unknownApp, type AppResolver } from "./app-resolver";

/** What `app delete` removed. */
export interface DeletedApp {
  id: string;
  name: string | null;
  calls: number;
  logs: number;
}

/**
 * `app delete APP` (SPEC §3): stops the app if it runs, then removes it, its versions, call
 * records and logs. Its name is free again; its web endpoints answer 404. Code folders and images
 * are left to retention, which keeps those another app still uses.
 */
export class AppDeleter {
  constructor(
    private readonly resolver: AppResolver,
    private readonly manager: Pick<AppManager, "stop">,
    private readonly retention: Pick<Retention, "removeApp">,
  ) {}

  async delete(ref: string, env: string): Promise<DeletedApp> {
    const app = this.resolver.resolve(ref, env);
    if (!app) throw new UsageError(`${unknownApp(ref, env)} --all`);
    await this.manager.stop(app.id);
    // The last call records and log lines of the stop are written at the end of this turn of the event loop: let them land first.
    await new Promise((resolve) => setImmediate(resolve));
    const removed = await this.retention.removeApp(app.id);
    if (removed.apps === 0) throw new UsageError(`app ${app.id} could not be deleted: it is running again; stop it and try again`);
    return { id: app.id, name: app.name ?? null, calls: removed.calls, logs: removed.logs };
  }
}
