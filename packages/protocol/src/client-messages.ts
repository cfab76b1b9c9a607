import type { Encoded } from "./codec";
import type { AppManifest, ClassParamValues, CodeFile, ImageManifest } from "./manifest";
import type { DictRequest, QueueRequest, VolumeRequest } from "./object-messages";

/** Messages a client (CLI or SDK) sends to the server over the WebSocket. Requests carry an `id`. */
export type ClientMessage =
  | AppCreateRequest
  | AppDeployRequest
  | AppUpdateRequest
  | AppLookupRequest
  | CallStartRequest
  | CallCancelRequest
  | AppStopRequest
  | ImageBuildRequest
  | DictRequest
  | QueueRequest
  | VolumeRequest
  | Heartbeat;

/** Create an ephemeral app from a manifest and its code; replies `{ appId }`. */
export interface AppCreateRequest {
  type: "app.create";
  id: number;
  manifest: AppManifest;
  files: CodeFile[];
  detach?: boolean;
  /** The environment the app lives in; "main" when absent. */
  env?: string;
}

/**
 * Deploy an app under `manifest.name`: creates it, or updates it in place as its next version
 * (keeping the version when nothing changed); replies `{ appId, name, version, created, changed, changes, functions }`.
 */
export interface AppDeployRequest {
  type: "app.deploy";
  id: number;
  manifest: AppManifest;
  files: CodeFile[];
  /** The environment the app is deployed in (a name is one app per environment); "main" when absent. */
  env?: string;
}

/** Replace the code of a running app this client owns (`stubrun serve` reloading); replies `{ version, changed }`. */
export interface AppUpdateRequest {
  type: "app.update";
  id: number;
  appId: string;
  manifest: AppManifest;
  files: CodeFile[];
}

/** Find a function of a deployed app by name; replies `{ appId, version, function }`. */
export interface AppLookupRequest {
  type: "app.lookup";
  id: number;
  name: string;
  function: string;
  version?: number;
  /** The environment the app is looked up in; "main" when absent. */
  env?: string;
}

/** Start a call of `Class.method` of an app; replies `{ callId }`, then streams `call.output` and one `call.result`. */
export interface CallStartRequest {
  type: "call.start";
  id: number;
  appId: string;
  function: string;
  args: Encoded[];
  /** A deployed app's version to run; its current one when absent. */
  version?: number;
  /** The caller iterates what a generator function yields (`remoteGen`); without it, the call must be of one that returns. */
  stream?: boolean;
  /** Values of the class's `@stub.parameter()` properties (`.with({...})`); the defaults when absent. */
  params?: ClassParamValues;
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

/**
 * Build an image where the workers run (or find it built); streams `image.log` events with this
 * request's id while it builds, then replies `{ image, built, seconds }` (ImageBuildResult).
 * An app whose image is not built is refused, so clients send this before app.create/deploy/update.
 */
export interface ImageBuildRequest {
  type: "image.build";
  id: number;
  image: ImageManifest;
}

/** Tells the server this client is alive. */
export interface Heartbeat {
  type: "heartbeat";
}
