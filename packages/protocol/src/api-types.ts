import type { WireError } from "./errors";
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

/** A call's state: running, or how it ended. */
export type CallStateName = "running" | "succeeded" | "failed" | "cancelled" | "timed_out";

/** A call as `GET /api/calls/ID` answers it (`FunctionCall.fromId`, the call's page). */
export interface CallInfo {
  id: string;
  appId: string;
  functionName: string;
  state: CallStateName;
  attempts: number;
  createdAt: string;
  endedAt: string | null;
  /** Milliseconds from start to end; null while it runs. */
  durationMs: number | null;
  /** The encoded arguments as JSON text, cut to a preview; null when none were recorded. */
  args: string | null;
  /** The encoded result (value codec), when the call succeeded and its result is kept. */
  result?: unknown;
  /** The error, when the call failed, timed out or was cancelled and the error is kept. */
  error?: WireError;
  /** Why the result or error cannot be read, when it cannot (too large to keep, or expired). */
  unavailable?: string;
}

/** A worker as the apps page shows it (`GET /api/apps/APP/workers`). */
export interface WorkerSummary {
  id: string;
  functionName: string;
  state: "starting" | "idle" | "busy" | "stopping" | "exited";
  /** Calls it has finished. */
  callsServed: number;
  startedAt: string;
  /** Its resident memory, where the machine says (Linux `/proc`); null otherwise. */
  memoryBytes: number | null;
  /** The call it runs now, when busy. */
  callId: string | null;
}

/** One function's figures over the last hour (`GET /api/apps/APP/figures`): one entry a minute, oldest first. */
export interface FunctionFigures {
  functionName: string;
  /** Start of each minute (ms since the epoch). */
  minutes: number[];
  /** Calls that ended in each minute. */
  calls: number[];
  /** Of those, the ones that failed or timed out, as a fraction (null in a minute without calls). */
  errorRate: (number | null)[];
  /** Median and 95th percentile duration of the calls that ended in each minute, in ms. */
  p50: (number | null)[];
  p95: (number | null)[];
  /** The same over the whole hour. */
  total: { calls: number; callsPerMinute: number; errorRate: number | null; p50: number | null; p95: number | null };
}
