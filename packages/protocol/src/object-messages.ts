import type { Encoded } from "./codec";

/**
 * Requests on the server's shared objects, Dicts and Queues (Modal's `modal.Dict`,
 * `modal.Queue`): named ones live on the server until deleted; an ephemeral one belongs to an
 * app (`app`) and goes with it. Keys and values are encoded with the argument codec.
 */

/** Which object a request is on. */
export interface ObjectRef {
  /** A named object's name (APP_NAME_PATTERN), or an ephemeral one's generated name. */
  name: string;
  /** An ephemeral object's app: it is created on first use and removed when that app stops. */
  app?: string;
  /** Create a named object that does not exist yet (`{ createIfMissing: true }`). */
  create?: boolean;
  /** The environment of a named object; "main" when absent (a worker's is its app's). */
  env?: string;
}

/** One operation on a Dict; the reply is the matching field of `DictReply`. */
export type DictOp =
  | { op: "get"; key: Encoded }
  | { op: "contains"; key: Encoded }
  /** `ifVersion`: put only if the entry's version is this one (0: only if the key is absent). */
  | { op: "put"; key: Encoded; value: Encoded; ifVersion?: number }
  | { op: "delete"; key: Encoded }
  | { op: "len" }
  | { op: "keys" }
  | { op: "items" }
  | { op: "clear" };

export type DictRequest = { type: "dict"; id: number } & ObjectRef & DictOp;

/** What a Dict request replies: `get` gives found/value/version, `put` ok/version, and so on. */
export interface DictReply {
  found?: boolean;
  value?: Encoded;
  /** An entry's version: it grows by one at each put, for compare-and-set. */
  version?: number;
  ok?: boolean;
  deleted?: boolean;
  len?: number;
  keys?: Encoded[];
  items?: [Encoded, Encoded][];
  cleared?: number;
}

/** One operation on a Queue; `partition` is the default one ("") when absent. */
export type QueueOp =
  | { op: "put"; values: Encoded[]; partition?: string }
  /** Takes up to `max` values, waiting up to `timeoutMs` (forever when absent, not at all for 0) for the first. */
  | { op: "get"; max: number; timeoutMs?: number; partition?: string }
  /** `total`: every partition's values together. */
  | { op: "len"; partition?: string; total?: boolean }
  /** `all`: every partition. */
  | { op: "clear"; partition?: string; all?: boolean };

export type QueueRequest = { type: "queue"; id: number } & ObjectRef & QueueOp;

/** What a Queue request replies. */
export interface QueueReply {
  values?: Encoded[];
  len?: number;
  cleared?: number;
}

/**
 * One operation on a Volume (issue 14 item 5): its content is a tree blob in the blob store
 * (`/api/blobs/HASH`); the server keeps only each volume's head, the hash of its last committed
 * version, and a version number that grows by one at each commit.
 */
export type VolumeOp =
  | { op: "head" }
  /** Makes `hash` (a blob the server holds) the head; with `ifVersion`, only if the head's version is still that one. */
  | { op: "commit"; hash: string; ifVersion?: number };

export type VolumeRequest = { type: "volume"; id: number } & ObjectRef & VolumeOp;

/** What a Volume request replies: its head after the op (`hash` null while nothing was committed). */
export interface VolumeReply {
  hash: string | null;
  version: number;
  /** `commit` with `ifVersion`: false when another commit came first (nothing changed). */
  ok?: boolean;
}

/** A Volume mounted on a function, as the manifest carries it. */
export interface VolumeMount {
  /** Where the function sees it: an absolute path in its sandbox. */
  path: string;
  /** The named Volume (in the app's environment). */
  name: string;
  /** Create it at the worker's start if it does not exist (`{ createIfMissing: true }`). */
  create?: boolean;
}

/** A partition's name: like an app name, at most 64 characters; "" is the default partition. */
export const PARTITION_PATTERN = /^[A-Za-z0-9_.-]{0,64}$/;

/** A Dict or Queue as `GET /api/dicts` and `GET /api/queues` list it. */
export interface ObjectSummary {
  name: string;
  env: string;
  /** The app an ephemeral object belongs to; null for a named one. */
  app: string | null;
  createdAt: string;
  /** A Dict's entries, a Queue's values (every partition), a Volume's version. */
  len: number;
  /** A Queue's values per partition ("" is the default one). */
  partitions?: Record<string, number>;
  /** A Volume's head blob (null before its first commit). */
  head?: string | null;
}
