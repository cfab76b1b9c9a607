import { RequestRefusedError, type AppManifest, type CodeFile, type DeployResult } from "@stubrun/protocol";
import { createHash } from "node:crypto";
import path from "node:path";
import type { StateDatabase } from "../state/database";
import type { AppRecord, AppsRepository } from "../state/apps.repository";
import type { VersionRecord, VersionsRepository } from "../state/versions.repository";
import type { AppManager } from "./app-manager";
import { APP_ID_PATTERN, newId } from "./ids";

/**
 * Deployed apps and their versions: deploy creates an app or updates it in place as its next
 * version (or keeps the version when nothing changed); rollback redeploys an old version's code
 * as a new version. Every change is written in one transaction.
 */
export class Deployer {
  constructor(
    private readonly db: StateDatabase,
    private readonly apps: AppsRepository,
    private readonly versions: VersionsRepository,
    private readonly manager: AppManager,
  ) {}

  deploy(manifest: AppManifest, files: CodeFile[]): DeployResult {
    const name = manifest.name as string;
    if (APP_ID_PATTERN.test(name)) {
      // Web URLs and the apps API take a deployed app's name where they take an app id.
      throw new RequestRefusedError(
        `app name "${name}" looks like an app id ("ap-" and 10 letters or digits), so its web URLs and app commands could be taken for another app's; choose another name`,
      );
    }
    const codeDir = this.manager.storeUpload(manifest, files);
    const existing = this.apps.findDeployed(name);
    if (!existing) return this.create(name, manifest, codeDir);
    return this.newVersion(existing, manifest, codeDir, (previous, previousCodeDir) => describeChanges(previous, manifest, codeDir, previousCodeDir));
  }

  /** Redeploys `version` (default: the one before the current) as a new version. */
  rollback(ref: string, version?: number): DeployResult {
    const app = this.deployedApp(ref);
    const target = version ?? app.version - 1;
    const old = this.versions.get(app.id, target);
    if (!old) {
      const known = this.versions.list(app.id).map((v) => v.version).join(", ");
      if (version === undefined) throw new RequestRefusedError(`app ${app.name} has no version before version ${app.version} to roll back to; its versions are ${known}`);
      throw new RequestRefusedError(`app ${app.name} has no version ${target}; its versions are ${known}`);
    }
    return this.newVersion(app, old.manifest, old.codeDir, () => `rollback to version ${target}`, true);
  }

  history(ref: string): { app: AppRecord; versions: VersionRecord[] } {
    const app = this.apps.resolve(ref);
    if (!app) throw new RequestRefusedError(`no app with id or name "${ref}"; see them with: npx stubrun app list`);
    return { app, versions: this.versions.list(app.id) };
  }

  /** Replaces the code of a running ephemeral app (`stubrun serve` reloading a changed file). */
  reload(appId: string, manifest: AppManifest, files: CodeFile[]): DeployResult {
    const app = this.manager.runningApp(appId).record;
    const codeDir = this.manager.storeUpload(manifest, files);
    if (fingerprint(app.manifest, app.codeDir) === fingerprint(manifest, codeDir)) return result(app, false, false, "no change");
    this.apps.setVersion(appId, app.version + 1, manifest, codeDir);
    const record = this.manager.replaceCode(appId, app.version + 1, manifest, codeDir);
    return result(record, false, true, describeChanges(app.manifest, manifest, codeDir, app.codeDir));
  }

  private create(name: string, manifest: AppManifest, codeDir: string): DeployResult {
    const now = Date.now();
    const record: AppRecord = { id: newId("ap"), name, state: "deployed", version: 1, createdAt: now, stoppedAt: null, manifest, codeDir };
    this.db.transaction(() => {
      this.apps.insert(record);
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
      this.apps.setVersion(app.id, version, manifest, codeDir);
    })();
    const record = this.manager.replaceCode(app.id, version, manifest, codeDir);
    return result(record, false, true, what);
  }

  /** The deployed app of a name, or a refusal that says why there is none. */
  findDeployed(name: string): AppRecord {
    const app = this.apps.findDeployed(name);
    if (app) return app;
    const other = this.apps.resolve(name);
    if (other) throw new RequestRefusedError(`app ${name} is ${other.state === "stopped" ? "stopped" : `not deployed (it is ${other.state})`}; deploy it with: npx stubrun deploy FILE`);
    throw new RequestRefusedError(`no deployed app named ${name}; deploy one with: npx stubrun deploy FILE`);
  }

  private deployedApp(ref: string): AppRecord {
    const app = this.apps.resolve(ref);
    if (!app) throw new RequestRefusedError(`no app with id or name "${ref}"; see them with: npx stubrun app list`);
    if (app.state !== "deployed") throw new RequestRefusedError(`app ${app.name ?? app.id} is ${app.state}; only a deployed app has versions to roll back to`);
    return app;
  }
}

function result(app: AppRecord, created: boolean, changed: boolean, changes: string): DeployResult {
  return { appId: app.id, name: app.name ?? app.id, version: app.version, created, changed, changes, functions: app.manifest.functions };
}

/** The code (its content-hashed directory) and what the manifest says, minus where it came from. */
function fingerprint(manifest: AppManifest, codeDir: string): string {
  const { projectRoot: _root, ...rest } = manifest;
  return createHash("sha256").update(path.basename(codeDir)).update(JSON.stringify(rest)).digest("hex");
}

/** What changed between two manifests, in words: "added A.b; removed A.c; changed A.d (options); code changed". */
function describeChanges(before: AppManifest, after: AppManifest, codeDir: string, beforeCodeDir: string): string {
  const old = new Map(before.functions.map((f) => [f.name, f]));
  const now = new Map(after.functions.map((f) => [f.name, f]));
  const parts: string[] = [];
  const added = [...now.keys()].filter((n) => !old.has(n));
  const removed = [...old.keys()].filter((n) => !now.has(n));
  const changed = [...now.values()].filter((f) => old.has(f.name) && JSON.stringify(old.get(f.name)) !== JSON.stringify(f)).map((f) => f.name);
  if (added.length) parts.push(`added ${added.join(", ")}`);
  if (removed.length) parts.push(`removed ${removed.join(", ")}`);
  if (changed.length) parts.push(`changed ${changed.join(", ")} (options or parameters)`);
  if (path.basename(codeDir) !== path.basename(beforeCodeDir)) parts.push("code changed");
  return parts.join("; ") || "no change";
}
