import type { Encoded } from "./codec";
import type { AppManifest, CodeFile } from "./manifest";

/** Messages a client (CLI or SDK) sends to the server over the WebSocket. Requests carry an `id`. */
export type ClientMessage = AppCreateRequest | CallStartRequest | CallCancelRequest | AppStopRequest | Heartbeat;

/** Create an ephemeral app from a manifest and its code; replies `{ appId }`. */
export interface AppCreateRequest {
  type: "app.create";
  id: number;
  manifest: AppManifest;
  files: CodeFile[];
  detach?: boolean;
}

/** Start a call of `Class.method` of an app; replies `{ callId }`, then streams `call.output` and one `call.result`. */
export interface CallStartRequest {
  type: "call.start";
  id: number;
  appId: string;
  function: string;
  args: Encoded[];
}

/** Cancel a running call; replies `{ cancelled: boolean }`. */
export interface CallCancelRequest {
  type: "call.cancel";
  id: number;
  callId: string;
}

/** Stop an app: its calls are cancelled and its workers killed; replies `{ stopped: boolean }`. */
export interface AppStopRequest {
  type: "app.stop";
  id: number;
  appId: string;
}

/** Tells the server this client is alive. */
export interface Heartbeat {
  type: "heartbeat";
}
