import type { FunctionOptionsManifest } from "@stubrun/protocol";

/** What `@stub.function()` / `@stub.webEndpoint()` records for one method. */
export interface FunctionEntry {
  methodName: string;
  kind: "function" | "webEndpoint";
  webMethod?: "GET" | "POST";
  options: FunctionOptionsManifest;
}

/** What `@stub.enter()` / `@stub.exit()` record on a class. */
export interface LifecycleHooks {
  enter: string[];
  exit: string[];
}
