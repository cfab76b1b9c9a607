import { UsageError } from "@stubrun/protocol";
import fs from "node:fs";
import path from "node:path";

/**
 * Every limit the server enforces (SPEC §4: "limits are on by default and each can be raised in
 * the server's configuration"). Going past one is a clear error for that request alone.
 * Raise them in `$STUBRUN_HOME/config.json`: `{ "limits": { "maxConnections": 1024 } }`.
 */
export interface ServerLimits {
  /** Largest WebSocket message, code uploads included. @default 32 MiB */
  maxMessageBytes: number;
  /** Largest HTTP request body (web endpoints). @default 8 MiB */
  maxBodyBytes: number;
  /** Deepest nesting of arrays and objects in a message's values (arguments, JSON bodies). @default 256 */
  maxValueDepth: number;
  /** Open WebSocket and HTTP connections at once. @default 512 */
  maxConnections: number;
  /** Bytes the server may hold unsent for one client before it gives the client up. @default 64 MiB */
  maxBufferedBytesPerClient: number;
  /** Calls of one app waiting for a worker (queued and waiting to retry). @default 100000 */
  maxQueuedCallsPerApp: number;
  /** Upper bound of a function's `concurrencyLimit` and `keepWarm`. @default 64 */
  maxWorkersPerFunction: number;
  /** Worker processes on this server, all apps together. @default 128 */
  maxWorkers: number;
  /** Upper bound of a function's `timeout`, in seconds. @default 86400 (a day) */
  maxTimeoutSeconds: number;
  /** Upper bound of a function's `containerIdleTimeout`, in seconds. @default 86400 (a day) */
  maxContainerIdleTimeoutSeconds: number;
  /** Upper bound of a function's `retries`. @default 10 */
  maxRetries: number;
  /** Upper bound of a retry delay (`initialDelayMs`, `maxDelayMs`), in ms. @default 3600000 (an hour) */
  maxRetryDelayMs: number;
  /** Bytes of output kept in the logs per call (UTF-8); the rest is dropped with a note. @default 4 MiB */
  maxOutputBytesPerCall: number;
  /** Bytes of output kept per worker outside calls (enter/exit hooks, timers). @default 4 MiB */
  maxOutputBytesOutsideCalls: number;
  /** Log lines kept per app; older ones are pruned. @default 20000 */
  maxLogLinesPerApp: number;
  /** Most log bytes one `/api/apps/APP/logs` answer carries. @default 8 MiB */
  maxLogBytesPerRequest: number;
  /** A worker's V8 heap, in MiB (`STUBRUN_WORKER_MEMORY_MB` also sets it). @default 2048 */
  workerMemoryMb: number;
  /** Upper bound of a function's `memory`, in MiB. @default 16384 (16 GiB) */
  maxFunctionMemoryMb: number;
  /**
   * Worker processes kept started ahead, with no code yet, each ready to become a function's
   * worker at once (a cold start without Node's own start); 0 starts none. @default 2
   */
  prestartedWorkers: number;
  /** How long an HTTP request may take to arrive, headers and body, in ms. @default 30000 */
  requestTimeoutMs: number;
  /** Web endpoint calls of one app running at once; more answer 503. @default 256 */
  maxWebRequestsPerApp: number;
  /**
   * Days the calls, logs and record of a stopped app are kept; then they go, with code no app or
   * version refers to any more. Deployed apps and their versions are never removed. @default 7
   */
  retentionDays: number;
  /**
   * Hours a finished call's result (or error) stays readable by its id (`FunctionCall.fromId`,
   * `GET /api/calls/ID`); the call's record stays as long as its app's. @default 24
   */
  callResultRetentionHours: number;
  /** Largest result kept for reading by id, as encoded JSON, in bytes; a larger one is not kept. @default 1 MiB */
  maxKeptResultBytes: number;
  /** Largest upload of an npm package or of the files an image adds (`PUT /api/blobs/HASH`), in bytes. @default 2 GiB */
  maxBlobBytes: number;
  /** Most files and links in one such upload. @default 200000 */
  maxBlobEntries: number;
  /** How long an image build may take, all its steps together, in seconds; then it fails. @default 1800 */
  imageBuildTimeoutSeconds: number;
  /** Lines of an image's build log kept while it builds (what a client that joins late replays). @default 10000 */
  maxImageLogLines: number;
  /** Entries one Dict may hold; a put of a new key past it is refused. @default 100000 */
  maxDictEntries: number;
  /** Values one Queue may hold, all partitions together; a put past it is refused. @default 100000 */
  maxQueueLength: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxMessageBytes: 32 * 1024 * 1024,
  maxBodyBytes: 8 * 1024 * 1024,
  maxValueDepth: 256,
  maxConnections: 512,
  maxBufferedBytesPerClient: 64 * 1024 * 1024,
  maxQueuedCallsPerApp: 100_000,
  maxWorkersPerFunction: 64,
  maxWorkers: 128,
  maxTimeoutSeconds: 86_400,
  maxContainerIdleTimeoutSeconds: 86_400,
  maxRetries: 10,
  maxRetryDelayMs: 3_600_000,
  maxOutputBytesPerCall: 4 * 1024 * 1024,
  maxOutputBytesOutsideCalls: 4 * 1024 * 1024,
  maxLogLinesPerApp: 20_000,
  maxDictEntries: 100_000,
  maxQueueLength: 100_000,
  maxLogBytesPerRequest: 8 * 1024 * 1024,
  workerMemoryMb: 2048,
  maxFunctionMemoryMb: 16_384,
  prestartedWorkers: 2,
  requestTimeoutMs: 30_000,
  maxWebRequestsPerApp: 256,
  retentionDays: 7,
  callResultRetentionHours: 24,
  maxKeptResultBytes: 1024 * 1024,
  maxBlobBytes: 2 * 1024 * 1024 * 1024,
  maxBlobEntries: 200_000,
  imageBuildTimeoutSeconds: 1800,
  maxImageLogLines: 10_000,
});

/** The file holding the server's configuration in `$STUBRUN_HOME`. */
export function configFilePath(home: string): string {
  return path.join(home, "config.json");
}

/**
 * The limits in force: the defaults, then `STUBRUN_WORKER_MEMORY_MB`, then `config.json`'s
 * `limits`, then `overrides` (tests). A bad value stops the server from starting, saying which.
 */
export function loadLimits(home: string, overrides: Partial<ServerLimits> = {}, env: NodeJS.ProcessEnv = process.env): ServerLimits {
  const limits: ServerLimits = { ...DEFAULT_LIMITS };
  if (env.STUBRUN_WORKER_MEMORY_MB !== undefined && env.STUBRUN_WORKER_MEMORY_MB !== "") {
    limits.workerMemoryMb = checkLimit("workerMemoryMb", Number(env.STUBRUN_WORKER_MEMORY_MB), "STUBRUN_WORKER_MEMORY_MB");
  }
  const file = configFilePath(home);
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    // no configuration file: the defaults hold
  }
  if (text !== undefined) Object.assign(limits, limitsFromConfig(text, file));
  for (const [key, value] of Object.entries(overrides)) limits[knownKey(key, "overrides")] = checkLimit(key, value, "overrides");
  return limits;
}

function limitsFromConfig(text: string, file: string): Partial<ServerLimits> {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON (${(error as Error).message}); fix it or remove it`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new UsageError(`${file} must hold a JSON object like { "limits": { ... } }`);
  const { limits, ...rest } = config as { limits?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new UsageError(`${file}: unknown setting "${unknown[0]}"; the settings are: limits`);
  if (limits === undefined) return {};
  if (typeof limits !== "object" || limits === null || Array.isArray(limits)) throw new UsageError(`${file}: "limits" must be an object`);
  const result: Partial<ServerLimits> = {};
  for (const [key, value] of Object.entries(limits)) result[knownKey(key, file)] = checkLimit(key, value, file);
  return result;
}

function knownKey(key: string, where: string): keyof ServerLimits {
  if (!(key in DEFAULT_LIMITS)) throw new UsageError(`${where}: unknown limit "${key}"; the limits are: ${Object.keys(DEFAULT_LIMITS).join(", ")}`);
  return key as keyof ServerLimits;
}

/**
 * Limits that cannot be raised past a point without bringing back what they guard against:
 * values nested deeper than this overflow the stack of JSON.stringify on their way to a worker.
 */
const CEILINGS: Partial<Record<keyof ServerLimits, number>> = { maxValueDepth: 4096 };
/** Limits that may be 0 (none); the others are at least 1. */
const FLOORS: Partial<Record<keyof ServerLimits, number>> = { prestartedWorkers: 0 };

function checkLimit(key: string, value: unknown, where: string): number {
  const floor = FLOORS[key as keyof ServerLimits] ?? 1;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < floor) {
    throw new UsageError(`${where}: limit "${key}" must be a whole number >= ${floor}, got ${JSON.stringify(value)}`);
  }
  const ceiling = CEILINGS[key as keyof ServerLimits];
  if (ceiling !== undefined && value > ceiling) {
    throw new UsageError(`${where}: limit "${key}" can be at most ${ceiling} (deeper values would overflow the stack on their way to a worker), got ${value}`);
  }
  return value;
}
