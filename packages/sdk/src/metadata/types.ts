import type { FunctionOptionsManifest } from "@stubrun/protocol";
import type { Image } from "../image";

/** What `@stub.function()` / `@stub.webEndpoint()` records for one method. */
export interface FunctionEntry {
  methodName: string;
  kind: "function" | "webEndpoint";
  webMethod?: "GET" | "POST";
  options: FunctionOptionsManifest;
  /** The function's own image (it replaces the stub's); the CLI turns it into `options.image`. */
  image?: Image;
  /** A generator function: callers iterate what it yields (`remoteGen`). */
  generator?: boolean;
}

/** What `@stub.enter()` / `@stub.exit()` record on a class. */
export interface LifecycleHooks {
  enter: string[];
  exit: string[];
}

/** What `@stub.parameter()` records for one property. */
export interface ParameterEntry {
  name: string;
  /** `@stub.parameter({ default })`: used when a call gives no value (a property initializer works too). */
  default?: string | number | boolean;
}
