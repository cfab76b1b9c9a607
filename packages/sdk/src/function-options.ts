import { DEFAULT_FUNCTION_OPTIONS, MAX_CONCURRENT_INPUTS, MAX_FUNCTION_CPU, MIN_FUNCTION_MEMORY_MB, UsageError, type FunctionOptionsManifest, type RetryPolicy } from "@stubrun/protocol";
import { Cron, Period } from "./schedules";
import type { Image } from "./image";
import { secretRefs, type Secret } from "./secret";
import { volumeMounts, type Volume } from "./objects/volume";

/** Retries with backoff: attempt n (from 1) waits `min(initialDelayMs * backoffCoefficient^(n-1), maxDelayMs)`. */
export interface RetryOptions {
  /** Retries after the first attempt. @default 0 */
  maxRetries: number;
  /** Wait before the first retry, in ms. @default 1000 */
  initialDelayMs?: number;
  /** Factor applied to the wait after each retry. @default 2 */
  backoffCoefficient?: number;
  /** Longest wait between attempts, in ms. @default 60000 */
  maxDelayMs?: number;
}

/** Options of `@stub.function()`. */
export interface FunctionOptions {
  /** Seconds an attempt may run (the worker's start is not counted). @default 300 */
  timeout?: number;
  /** Retries after a failed attempt: a count or a policy. @default 0 */
  retries?: number | RetryOptions;
  /** Most workers of this function at once. @default 8 */
  concurrencyLimit?: number;
  /** Workers kept ready even when idle. @default 0 */
  keepWarm?: number;
  /** Seconds an idle worker lives before it exits. @default 60 */
  containerIdleTimeout?: number;
  /**
   * Calls one worker serves at once (1 to 1000), for functions that mostly wait (I/O): their
   * output is still told apart per call. The class's instance is shared by those calls. @default 1
   */
  concurrentInputs?: number;
  /** Run the function by itself when its app is deployed: a Cron or a Period. It must take no arguments. */
  schedule?: Cron | Period;
  /**
   * Secrets whose keys become environment variables in this function's workers; on a clash they
   * win over the stub's, and a later one over an earlier one. @default []
   */
  secrets?: Secret[];
  /**
   * The environment this function's workers run in: `Image.node().npmInstall(...)...`. It
   * replaces the stub's image. @default the stub's image, else plain Node with the app's packages
   */
  image?: Image;
  /**
   * `false`: the function's workers have no network at all, not even to call other functions;
   * only a sandboxed worker can keep to it, so elsewhere its worker refuses to start
   * (docs/security.md). @default true
   */
  network?: boolean;
  /**
   * MiB a worker of this function may use (at least 64): its heap and, where the machine allows
   * (cgroups), all it holds. A worker past it is killed and its call fails saying so; the server
   * caps it (`limits.maxFunctionMemoryMb`). @default the stub's, else the server's heap cap
   */
  memory?: number;
  /**
   * The CPU cores a worker of this function counts for (0.5, 1, 2): a machine starts no worker
   * that would take the sum past its cores, and gives it that share of CPU time where cgroups
   * allow. Functions without it do not count. @default the stub's, else none
   */
  cpu?: number;
  /**
   * Volumes mounted on the function's workers, by absolute path in their sandbox:
   * `{ "/data": Volume.fromName("data") }`. They add to the stub's (a path given here replaces
   * the stub's). Only a sandboxed worker can have them (docs/volumes.md). @default {}
   */
  volumes?: Record<string, Volume>;
}

/** Options of `@stub.webEndpoint()`. */
export interface WebEndpointOptions extends FunctionOptions {
  /** The HTTP method it answers. @default "GET" */
  method?: "GET" | "POST";
}

const KNOWN_KEYS = new Set(["timeout", "retries", "concurrencyLimit", "keepWarm", "containerIdleTimeout", "concurrentInputs", "schedule", "secrets", "image", "network", "memory", "cpu", "volumes", "method"]);

/** Checks options when the decorator is applied, and fills in the defaults. */
export function normalizeFunctionOptions(options: FunctionOptions, where: string): FunctionOptionsManifest {
  if (typeof options !== "object" || options === null) throw new UsageError(`${where}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new UsageError(`${where}: unknown option "${key}"; the options are ${[...KNOWN_KEYS].filter((k) => k !== "method").join(", ")}`);
    }
  }
  const d = DEFAULT_FUNCTION_OPTIONS;
  return {
    timeout: atMost(positive(options.timeout ?? d.timeout, "timeout", where), MAX_TIMEOUT_SECONDS, "timeout", where),
    retries: normalizeRetries(options.retries ?? 0, where),
    concurrencyLimit: integer(options.concurrencyLimit ?? d.concurrencyLimit, "concurrencyLimit", where, 1),
    keepWarm: integer(options.keepWarm ?? d.keepWarm, "keepWarm", where, 0),
    containerIdleTimeout: positive(options.containerIdleTimeout ?? d.containerIdleTimeout, "containerIdleTimeout", where),
    ...concurrentInputs(options.concurrentInputs, where),
    ...(options.schedule === undefined ? {} : { schedule: schedule(options.schedule, where) }),
    ...(options.secrets === undefined ? {} : { secrets: secretRefs(options.secrets, where) }),
    ...(network(options.network, where) ? {} : { network: false }),
    ...resources(options, where),
    ...(options.volumes === undefined ? {} : { volumes: volumeMounts(options.volumes, where) }),
  };
}

/** `memory` and `cpu`, checked, as the manifest carries them (absent when not given). */
export function resources(options: { memory?: unknown; cpu?: unknown }, where: string): { memory?: number; cpu?: number } {
  const result: { memory?: number; cpu?: number } = {};
  if (options.memory !== undefined) {
    const m = options.memory;
    if (!Number.isSafeInteger(m) || (m as number) < MIN_FUNCTION_MEMORY_MB) {
      throw new UsageError(`${where}: "memory" is in MiB, a whole number >= ${MIN_FUNCTION_MEMORY_MB} (e.g. 512), got ${shown(m)}`);
    }
    result.memory = m as number;
  }
  if (options.cpu !== undefined) {
    const c = options.cpu;
    if (typeof c !== "number" || !Number.isFinite(c) || !(c > 0) || c > MAX_FUNCTION_CPU) {
      throw new UsageError(`${where}: "cpu" is a number of cores above 0 (e.g. 0.5, 1, 2), at most ${MAX_FUNCTION_CPU}, got ${shown(c)}`);
    }
    result.cpu = c;
  }
  return result;
}

/** `concurrentInputs` when above 1 (1, the default, is left out of the manifest). */
function concurrentInputs(value: unknown, where: string): { concurrentInputs?: number } {
  if (value === undefined) return {};
  const n = integer(value, "concurrentInputs", where, 1);
  if (n > MAX_CONCURRENT_INPUTS) throw new UsageError(`${where}: "concurrentInputs" must be at most ${MAX_CONCURRENT_INPUTS}, got ${n}`);
  return n > 1 ? { concurrentInputs: n } : {};
}

function network(value: unknown, where: string): boolean {
  if (value === undefined) return true;
  if (typeof value !== "boolean") throw new UsageError(`${where}: "network" must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function schedule(value: unknown, where: string): NonNullable<FunctionOptionsManifest["schedule"]> {
  if (value instanceof Cron || value instanceof Period) return value.toManifest();
  throw new UsageError(`${where}: "schedule" must be a new Cron("...") or a new Period({ ... })`);
}

function normalizeRetries(retries: number | RetryOptions, where: string): RetryPolicy {
  const d = DEFAULT_FUNCTION_OPTIONS.retries;
  if (typeof retries === "number") return { ...d, maxRetries: integer(retries, "retries", where, 0) };
  if (typeof retries !== "object" || retries === null) {
    throw new UsageError(`${where}: "retries" must be a count or { maxRetries, initialDelayMs, backoffCoefficient, maxDelayMs }`);
  }
  return {
    maxRetries: integer(retries.maxRetries, "retries.maxRetries", where, 0),
    initialDelayMs: nonNegative(retries.initialDelayMs ?? d.initialDelayMs, "retries.initialDelayMs", where),
    backoffCoefficient: nonNegative(retries.backoffCoefficient ?? d.backoffCoefficient, "retries.backoffCoefficient", where),
    maxDelayMs: nonNegative(retries.maxDelayMs ?? d.maxDelayMs, "retries.maxDelayMs", where),
  };
}

/** Timers hold at most 2^31-1 ms (24.8 days). */
const MAX_TIMEOUT_SECONDS = 24 * 86_400;

function atMost(value: number, max: number, key: string, where: string): number {
  if (value > max) throw new UsageError(`${where}: "${key}" must be at most ${max} seconds (24 days), got ${value}`);
  return value;
}

function positive(value: unknown, key: string, where: string): number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(`${where}: "${key}" must be a number of seconds above 0, got ${shown(value)}`);
  }
  return value;
}

function nonNegative(value: unknown, key: string, where: string): number {
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw new UsageError(`${where}: "${key}" must be a number >= 0, got ${shown(value)}`);
  }
  return value;
}

function integer(value: unknown, key: string, where: string, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new UsageError(`${where}: "${key}" must be a whole number >= ${min}, got ${shown(value)}`);
  }
  return value as number;
}

/** A value as the user wrote it: a string quoted (`"30"`), so it is not mistaken for the number. */
function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
