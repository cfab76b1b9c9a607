import type { FunctionManifest } from "./manifest";

/** An app as the HTTP API, `app list --json` and the apps page show it. */
export interface AppSummary {
  id: string;
  name: string | null;
  /** The environment it lives in ("main" unless deployed or run with --env). */
  env: string;
  /** "failed": a deployed app this server could not serve when it started (see `failure`). */
  state: "ephemeral" | "detached" | "deployed" | "stopped" | "failed";
  version: number;
  createdAt: string;
  stoppedAt: string | null;
  /** Workers it has running now. */
  runningTasks: number;
  functions: string[];
  /** Why a failed app could not be served: it is in the app's logs too. */
  failure?: string;
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

/** A stored secret as `GET /api/secrets` lists it: never its values. */
export interface SecretSummary {
  name: string;
  keys: string[];
  createdAt: string;
  updatedAt: string;
}

/**
 * What a code folder is made of, as `GET /api/code/HASH` answers it: the app's compiled files,
 * and the blobs (packages, files an image adds) linked in at their paths ("" for the folder's
 * root). A worker node rebuilds the folder from it, byte for byte; HASH names the result.
 */
export interface CodeRecipe {
  files: { path: string; code: string }[];
  layers: { path: string; blob: string }[];
}

/** A worker node as `GET /api/nodes` lists it. */
export interface NodeSummary {
  nodeId: string;
  /** Calls it runs at once. */
  slots: number;
  /** The calls it runs now. */
  running: string[];
  connectedAt: string;
}

/** `GET /api/nodes`: whether the server runs calls through a queue (`--queue`), and its connected nodes. */
export interface NodesSummary {
  queue: boolean;
  nodes: NodeSummary[];
}
