import type { AppManifest, DeployResult, FunctionManifest, SecretRef } from "@stubrun/protocol";
import { createHash } from "node:crypto";
import path from "node:path";
import type { AppRecord } from "../state/apps.repository";

/** What deploy, rollback and reload answer. */
export function result(app: AppRecord, created: boolean, changed: boolean, changes: string): DeployResult {
  return { appId: app.id, name: app.name ?? app.id, version: app.version, created, changed, changes, functions: app.manifest.functions.map(withoutSecretValues) };
}

/** A function as clients see it: its secrets' names and keys, never the values of a Secret.fromObject(). */
export function withoutSecretValues(fn: FunctionManifest): FunctionManifest {
  const secrets = fn.options.secrets;
  if (!secrets) return fn;
  const shown: SecretRef[] = secrets.map((s) => (s.kind === "name" ? s : { kind: "object", values: Object.fromEntries(Object.keys(s.values).map((k) => [k, "***"])) }));
  return { ...fn, options: { ...fn.options, secrets: shown } };
}

/** The code (its content-hashed directory) and what the manifest says, minus where it came from. */
export function fingerprint(manifest: AppManifest, codeDir: string): string {
  const { projectRoot: _root, ...rest } = manifest;
  return createHash("sha256").update(path.basename(codeDir)).update(JSON.stringify(rest)).digest("hex");
}

/** What changed between two manifests, in words: "added A.b; removed A.c; changed A.d (options); code changed". */
export function describeChanges(before: AppManifest, after: AppManifest, codeDir: string, beforeCodeDir: string): string {
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
