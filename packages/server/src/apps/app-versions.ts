import { RequestRefusedError, type AppManifest, type FunctionManifest } from "@stubrun/protocol";
import type { AppRecord } from "../state/apps.repository";
import type { VersionsRepository } from "../state/versions.repository";
import { describeApp } from "./describe-app";

/** What a call needs of one version of an app. */
export interface AppVersion {
  manifest: AppManifest;
  codeDir: string;
  functions: Map<string, FunctionManifest>;
}

/** A running app's current version, and the earlier ones calls were pinned to. */
export interface VersionedApp {
  record: AppRecord;
  functions: Map<string, FunctionManifest>;
  /** Earlier versions that calls were pinned to; a version never changes once written. */
  pinned: Map<number, AppVersion>;
}

/** The manifest and code of one version of an app: its current one, or a stored one (kept for later calls). */
export function versionOf(app: VersionedApp, version: number | undefined, versions: VersionsRepository): AppVersion {
  if (version === undefined || version === app.record.version) return { manifest: app.record.manifest, codeDir: app.record.codeDir, functions: app.functions };
  let pinned = app.pinned.get(version);
  if (!pinned) {
    const stored = versions.get(app.record.id, version);
    if (!stored) throw new RequestRefusedError(`app ${describeApp(app.record)} has no version ${version}; it is at version ${app.record.version}`);
    pinned = { manifest: stored.manifest, codeDir: stored.codeDir, functions: functionMap(stored.manifest) };
    app.pinned.set(version, pinned);
  }
  return pinned;
}

/** A manifest's functions by name. */
export function functionMap(manifest: AppManifest): Map<string, FunctionManifest> {
  return new Map(manifest.functions.map((f) => [f.name, f]));
}
