import type { FunctionManifest } from "./manifest";

/** An app as the HTTP API, `app list --json` and the apps page show it. */
export interface AppSummary {
  id: string;
  name: string | null;
  state: "ephemeral" | "detached" | "deployed" | "stopped";
  version: number;
  createdAt: string;
  stoppedAt: string | null;
  /** Workers it has running now. */
  runningTasks: number;
  functions: string[];
}

/** What a deploy, a rollback or a `serve` reload did: the reply to `app.deploy` and `app.update`. */
export interface DeployResult {
  appId: string;
  name: string;
  version: number;
  created: boolean;
  changed: boolean;
  changes: string;
  functions: FunctionManifest[];
}
