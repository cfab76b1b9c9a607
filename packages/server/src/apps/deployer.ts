import { DEFAULT_ENV, RequestRefusedError, type AppManifest, type CodeFile, type DeployResult } from "@stubrun/protocol";
import type { StateDatabase } from "../state/database";
import type { AppRecord, AppsRepository } from "../state/apps.repository";
import type { VersionRecord, VersionsRepository } from "../state/versions.repository";
import type { AppManager } from "./app-manager";
import { describeChanges, fingerprint, result } from "./app-changes";
import type { AppResolver } from "./app-resolver";
import type { AppUploads } from "./app-uploads";
import { APP_ID_PATTERN, newId } from "./ids";

/**
 * Deployed apps and their versions: deploy creates an app or updates it in place as its next
 * version (or keeps the version when nothing changed); rollback redeploys an old version's code
 * as a new version. Every change is written in one transaction.
 */
export class Deployer {
  constructor(
    private readonly db: StateDatabase,
    private readonly appsRepo: AppsRepository,
    private readonly versions: VersionsRepository,
    private readonly resolver: AppResolver,
    private readonly uploads: AppUploads,
    private readonly manager: AppManager,
  ) {}

  deploy(manifest: AppManifest, files: CodeFile[], env = DEFAULT_ENV): DeployResult {
    const name = manifest.name as string;
    if (APP_ID_PATTERN.test(name)) {
      // Web URLs and the apps API take a deployed app's name where they take an app id.
      throw new RequestRefusedError(
        `app name "${name}" looks like an app id ("ap-" and 10 letters or digits), so its web URLs and app commands could be taken for another app's; choose another name`,
      );
    }
    const codeDir = this.uploads.store(manifest, files, env);
    const existing = this.appsRepo.findDeployed(name, env);
    if (!existing) return this.create(name, env, manifest, codeDir);
    return this.newVersion(existing, manifest, codeDir, (previous, previousCodeDir) => describeChanges(previous, manifest, codeDir, previousCodeDir));
  }

  /** Redeploys `version` (default: the one before the current) as a new version. */
  rollback(ref: string, version?: number, env = DEFAULT_ENV): DeployResult {
    const app = this.deployedApp(ref, env);
    const target = version ?? app.version - 1;
    const old = this.versions.get(app.id, target);
    if (!old) {
      const known = this.versions.list(app.id).map((v) => v.version).join(", ");
      if (version === undefined) throw new RequestRefusedError(`app ${app.name} has no version before version ${app.version} to roll back to; its versions are ${known}`);
      throw new RequestRefusedError(`app ${app.name} has no version ${target}; its versions are ${known}`);
    }
    this.uploads.checkSecrets(old.manifest, app.env); // the old version may name a secret deleted since
    return this.newVersion(app, old.manifest, old.codeDir, () => `rollback to version ${target}`, true);
  }

  history(ref: string, env = DEFAULT_ENV): { app: AppRecord; versions: VersionRecord[] } {
    const app = this.resolver.require(ref, env);
    return { app, versions: this.versions.list(app.id) };
  }

  private create(name: string, env: string, manifest: AppManifest, codeDir: string): DeployResult {
    const now = Date.now();
    const record: AppRecord = { id: newId("ap"), name, env, state: "deployed", version: 1, createdAt: now, stoppedAt: null, manifest, codeDir };
    this.db.transaction(() => {
      this.appsRepo.insert(record);
      this.versions.insert({ appId: record.id, version: 1, createdAt: now, manifest, codeDir, fingerprint: fingerprint(manifest, codeDir), changes: "first deploy" });
    })();
    this.manager.run(record, undefined);
    return result(record, true, true, "first deploy");
  }

  private newVersion(app: AppRecord, manifest: AppManifest, codeDir: string, changes: (previous: AppManifest, previousCodeDir: string) => string, force = false): DeployResult {
    const current = this.versions.get(app.id, app.version);
    const print = fingerprint(manifest, codeDir);
    // A deployed app that failed to start is served again by any deploy, changed or not.
    if (!force && current?.fingerprint === print && this.manager.failure(app.id) === undefined) return result(app, false, false, "no change");
    const version = app.version + 1;
    const described = changes(current?.manifest ?? app.manifest, current?.codeDir ?? app.codeDir);
    const what = described === "no change" && this.manager.failure(app.id) !== undefined ? "deployed again after a failed start" : described;
    this.db.transaction(() => {
      this.versions.insert({ appId: app.id, version, createdAt: Date.now(), manifest, codeDir, fingerprint: print, changes: what });
      this.appsRepo.setVersion(app.id, version, manifest, codeDir);
    })();
    const record = this.manager.replaceCode(app.id, version, manifest, codeDir);
    return result(record, false, true, what);
  }

  private deployedApp(ref: string, env: string): AppRecord {
    const app = this.resolver.require(ref, env);
    if (app.state !== "deployed") throw new RequestRefusedError(`app ${app.name ?? app.id} is ${app.state}; only a deployed app has versions to roll back to`);
    return app;
  }
}
