import type { Encoded } from "./codec";
import type { WireError } from "./errors";

/** Messages the server sends to a client over the WebSocket. */
export type ServerMessage = Reply | CallOutput | CallYield | CallResult | AppOutput | ImageLog;

/** A value a generator function yielded, in order with the call's output, before its result. */
export interface CallYield {
  type: "call.yield";
  callId: string;
  value: Encoded;
}

/** The answer to a request, matched by `id` (null when the request was too broken to have one). */
export type Reply =
  | { type: "reply"; id: number | null; ok: true; value: unknown }
  | { type: "reply"; id: number | null; ok: false; error: WireError };

/** A chunk of a call's stdout or stderr, in order. */
export interface CallOutput {
  type: "call.output";
  callId: string;
  stream: "stdout" | "stderr";
  data: string;
}

/** Output of an app's workers outside any call (enter and exit hooks), sent to the app's client. */
export interface AppOutput {
  type: "app.output";
  appId: string;
  functionName: string;
  stream: "stdout" | "stderr";
  data: string;
}

/** The end of a call: its encoded return value, or its error. Always after the call's output. */
export type CallResult =
  | { type: "call.result"; callId: string; ok: true; value: Encoded }
  | { type: "call.result"; callId: string; ok: false; error: WireError };

/**
 * A line of an image's build log, sent while an `image.build` request (`id`) waits. A line that
 * starts a build step carries `step` (from 1, of `count`), so clients can show progress.
 */
export interface ImageLog {
  type: "image.log";
  id: number;
  /** The image's content hash. */
  image: string;
  line: string;
  step?: { index: number; count: number };
}

/** The reply to `image.build`. */
export interface ImageBuildResult {
  /** The image's content hash. */
  image: string;
  /** False when the image was already built (cached), true when this request waited for a build. */
  built: boolean;
  /** How long this request waited for the build, in seconds (0 when cached). */
  seconds: number;
}
