import type { AppManifest, CodeFile, DeployResult } from "@stubrun/protocol";
import type { AppsRepository } from "../state/apps.repository";
import type { AppManager } from "./app-manager";
import { describeChanges, fingerprint, result } from "./app-changes";
import type { AppUploads } from "./app-uploads";

/**
 * `stubrun serve`'s reload (app.update): replaces the code of a running ephemeral app, as its
 * next version, unless nothing changed. Unlike a deploy, no version history is kept.
 */
export class AppReloader {
  constructor(
    private readonly appsRepo: AppsRepository,
    private readonly uploads: AppUploads,
    private readonly manager: AppManager,
  ) {}

  reload(appId: string, manifest: AppManifest, files: CodeFile[]): DeployResult {
    const app = this.manager.runningApp(appId).record;
    const codeDir = this.uploads.store(manifest, files, app.env);
    if (fingerprint(app.manifest, app.codeDir) === fingerprint(manifest, codeDir)) return result(app, false, false, "no change");
    this.appsRepo.setVersion(appId, app.version + 1, manifest, codeDir);
    const record = this.manager.replaceCode(appId, app.version + 1, manifest, codeDir);
    return result(record, false, true, describeChanges(app.manifest, manifest, codeDir, app.codeDir));
  }
}
