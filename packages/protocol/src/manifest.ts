/**
 * The manifest: everything the server knows about a user's app. The server never imports user
 * code; web endpoints, the apps page and the dispatcher work from this description alone.
 */
import type { VolumeMount } from "./object-messages";

/** How a parameter is parsed from text (CLI options, query strings). */
/** `request`: the Web's `Request`, for a web endpoint that reads the raw HTTP request. */
export type ParamType = "number" | "string" | "boolean" | "date" | "choice" | "json" | "request";

/** One parameter of a function or entrypoint. */
export interface ParamManifest {
  name: string;
  type: ParamType;
  /** The allowed values of a `choice` parameter. */
  choices?: string[];
  /** The choices are numbers (`1 | 2 | 3`, a numeric enum): the value passed is the number. */
  numeric?: boolean;
  /** False when the parameter has a default value or is marked `?`. */
  required: boolean;
  /** The default as written in the source, for help texts. */
  defaultText?: string;
  /** From the method's TSDoc `@param`. */
  description?: string;
}

/** Retry policy after normalisation. */
export interface RetryPolicy {
  maxRetries: number;
  initialDelayMs: number;
  backoffCoefficient: number;
  maxDelayMs: number;
}

/** When a deployed function runs by itself. */
export type ScheduleManifest = { kind: "cron"; expression: string; timezone: string } | { kind: "period"; seconds: number };

/** A function's options after defaults are applied. */
export interface FunctionOptionsManifest {
  timeout: number;
  retries: RetryPolicy;
  concurrencyLimit: number;
  keepWarm: number;
  containerIdleTimeout: number;
  /** Calls one worker serves at once (1..1000); absent means 1. */
  concurrentInputs?: number;
  schedule?: ScheduleManifest;
  /**
   * The function's secrets, the stub's first, then the function's own: applied in order, so a
   * later key wins. A `name` reference is resolved by the server at each worker start; an
   * `object` one carries the user's values, which the server never sends back to a client.
   */
  secrets?: SecretRef[];
  /** The function's image (its own, else the stub's); none means plain Node with the app's packages. */
  image?: ImageManifest;
  /** False: its workers run with no network (in a sandbox only). Absent: they have the network. */
  network?: boolean;
  /**
   * MiB a worker of the function may use: its V8 heap cap and, where the machine allows, its
   * resident limit (a cgroup). Absent: the server's `limits.workerMemoryMb` heap cap only.
   */
  memory?: number;
  /** The share of a CPU core a worker of the function counts for when workers are placed (0.5, 1, 2). Absent: it does not count. */
  cpu?: number;
  /** Volumes mounted on its workers (in a sandbox only), sorted by path. */
  volumes?: VolumeMount[];
}

/**
 * An image: the worker's environment, described by steps in order. `npmInstall`, `env` and
 * `runCommands` are built where the workers run, once per content; `files` steps carry files
 * from the client (a folder kept by content hash, a "blob") that land in the code's folder at
 * `path`, relative to the root of the upload.
 */
export interface ImageManifest {
  steps: ImageStep[];
}

/** One step of an image. */
export type ImageStep =
  | { kind: "npmInstall"; packages: string[] }
  | { kind: "env"; values: Record<string, string> }
  | { kind: "runCommands"; commands: string[] }
  | { kind: "files"; path: string; blob: string };

/** A blob's name: the sha256 (hex) of its content in the tree format (see `tree-format.ts`). */
export const BLOB_HASH_PATTERN = /^[0-9a-f]{64}$/;

/**
 * An npm package the app's code needs, as installed where the CLI ran: its folder (without its
 * own node_modules) is the blob `blob`, placed at `path` (relative to the upload's root, e.g.
 * "node_modules/left-pad") so Node resolves it in the worker as it did on the client.
 */
export interface PackageRef {
  name: string;
  version: string;
  path: string;
  blob: string;
}

/** A secret as the manifest carries it: a stored secret by name, or values given in the code. */
export type SecretRef = { kind: "name"; name: string } | { kind: "object"; values: Record<string, string> };

/** A secret's keys become environment variable names: letters, digits and "_", not starting with a digit. */
export const SECRET_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The least `memory` a function may ask for, in MiB: below it Node itself does not start. */
export const MIN_FUNCTION_MEMORY_MB = 64;

/** The most `cpu` a function may ask for (a node with fewer cores refuses it when it would start a worker). */
export const MAX_FUNCTION_CPU = 1024;

/** The most calls one worker may serve at once (`concurrentInputs`). */
export const MAX_CONCURRENT_INPUTS = 1000;

/** One remotely runnable function, named `Class.method`. */
export interface FunctionManifest {
  name: string;
  className: string;
  methodName: string;
  kind: "function" | "webEndpoint";
  webMethod?: "GET" | "POST";
  /** A generator function (`*f()`, `async *f()`): callers iterate what it yields. */
  generator?: boolean;
  options: FunctionOptionsManifest;
  params: ParamManifest[];
  /**
   * The `@stub.parameter()` properties of the function's class: set per instance (`.with({...})`,
   * CLI options), each distinct set of values served by workers of its own.
   */
  classParams?: ParamManifest[];
}

/** Values of a class's `@stub.parameter()` properties, by property name. */
export type ClassParamValues = Record<string, string | number | boolean>;

/** A file of the user's code as uploaded: compiled JavaScript under a path relative to the upload root. */
export interface CodeFile {
  path: string;
  code: string;
}

/** What `app.create` carries. */
export interface AppManifest {
  /** The Stub's name; ephemeral apps may have none. */
  name?: string;
  /** Path of the entry module inside the upload. */
  entry: string;
  /** Absolute directory on the client's machine that the upload's paths were relative to (shown, never read). */
  projectRoot: string;
  functions: FunctionManifest[];
  /** The npm packages the code imports, with what they depend on. */
  packages?: PackageRef[];
}

export const APP_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Secret names follow the app name rule. */
export const SECRET_NAME_PATTERN = APP_NAME_PATTERN;
