import { DEFAULT_ENV, RequestRefusedError, type FunctionManifest } from "@stubrun/protocol";
import type { AppManager } from "./app-manager";
import type { AppResolver } from "./app-resolver";
import { withoutSecretValues } from "./app-changes";

/** What app.lookup answers. */
export interface LookupResult {
  appId: string;
  version: number;
  function: FunctionManifest;
}

/**
 * A function of a running app, for `lookup()` in any program: APP by the one rule (an id, the
 * deployed app of that name, the newest app of that name), optionally pinned to a version.
 */
export function lookupFunction(resolver: AppResolver, manager: AppManager, ref: string, functionName: string, version: number | undefined, env = DEFAULT_ENV): LookupResult {
  const record = resolver.resolve(ref, env);
  if (!record) {
    const where = env === DEFAULT_ENV ? "" : ` in environment ${env}`;
    throw new RequestRefusedError(`no deployed app named ${ref}${where}; deploy one with: npx stubrun deploy FILE${env === DEFAULT_ENV ? "" : ` --env ${env}`}`);
  }
  const app = manager.runningApp(record.id); // a stopped or failed app: a refusal that says so
  const fn = manager.functionOf(app, functionName, version);
  // The caller may be any client: a Secret.fromObject()'s values stay on the server.
  return { appId: record.id, version: version ?? app.record.version, function: withoutSecretValues(fn) };
}
