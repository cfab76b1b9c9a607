import { validateManifest } from "@stubrun/protocol";
import fs from "node:fs";
import path from "node:path";
import type { AppRecord } from "../state/apps.repository";
import { checkManifestLimits, type OptionLimits } from "./manifest-limits";

/**
 * Why a stored deployed app cannot be served again when the server starts, or undefined when it
 * can. The database may hold what today's checks refuse (written by an older server, under
 * higher limits, or by hand): such an app is marked failed, and every other app is served.
 */
export function whyStoredAppCannotRun(record: AppRecord, limits: OptionLimits): string | undefined {
  if (record.unreadable) return record.unreadable;
  try {
    validateManifest(record.manifest as unknown as Record<string, unknown>);
    checkManifestLimits(record.manifest, limits);
  } catch (error) {
    return (error as Error).message;
  }
  if (!fs.existsSync(path.join(record.codeDir, record.manifest.entry))) return `its code is missing (${record.codeDir})`;
  return undefined;
}
