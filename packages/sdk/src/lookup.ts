import { checkClassParams, requestedEnv, serverUrlFromEnv, UsageError, type FunctionManifest } from "@stubrun/protocol";
import { sharedConnection } from "./client/shared-connection";
import { RemoteFunction, type FunctionHandle } from "./function-handle";

/** Options of `lookup()`. */
export interface LookupOptions {
  /** The deployed version to call; the current one when absent. @default undefined */
  version?: number;
}

/**
 * A handle on a function of a deployed app, from any program (CommonJS or ESM, no decorators
 * needed): `await lookup("hello-app", "Hello.square")`. Rejects with an error naming the app or
 * the function when either is missing, or when the app is stopped.
 */
export async function lookup<A extends unknown[] = unknown[], R = unknown>(
  appName: string,
  functionName: string,
  options: LookupOptions = {},
): Promise<FunctionHandle<A, R>> {
  return (await lookupFunction<A, R>(appName, functionName, options)).handle;
}

/** What `lookupFunction` finds: the handle, and the function as deployed (its parameters, whether it is a generator). */
export interface FoundFunction<A extends unknown[], R> {
  handle: FunctionHandle<A, R>;
  manifest: FunctionManifest;
  /** The version the server resolved (the current one unless `options.version` was given). */
  version: number;
}

/**
 * `lookup()` with the function's manifest: what `stubrun call` reads to turn options into
 * arguments by the same rules as `stubrun FILE`.
 */
export async function lookupFunction<A extends unknown[] = unknown[], R = unknown>(
  appName: string,
  functionName: string,
  options: LookupOptions = {},
): Promise<FoundFunction<A, R>> {
  const url = serverUrlFromEnv();
  const connection = await sharedConnection(url);
  const found = await connection.request<{ appId: string; version: number; function: FunctionManifest }>({
    type: "app.lookup",
    name: appName,
    function: functionName,
    version: options.version,
    ...requestedEnv(),
  });
  // Each call takes the shared connection anew, so a handle outlives a lost connection (a
  // restart of the server): the next call reconnects.
  const handle = new RemoteFunction<A, R>(functionName, {
    session: async () => ({ connection: await sharedConnection(url), appId: found.appId, version: options.version }),
    // The deployed manifest says what the class's parameters are: checked here, and again by the server.
    checkParams: (values) => {
      if (typeof values !== "object" || values === null || Array.isArray(values)) {
        throw new UsageError(`${functionName}.with(values): values must be an object of parameter values, like .with({ model: "small" })`);
      }
      const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
      checkClassParams({ ...found.function, classParams: (found.function.classParams ?? []).map((p) => ({ ...p, required: false })) }, given);
      return given;
    },
  });
  return { handle, manifest: found.function, version: found.version };
}
