import { checkClassParams, serverUrlFromEnv, UsageError, type FunctionManifest } from "@stubrun/protocol";
import { connectToServer } from "./client/connect";
import type { ServerConnection } from "./client/connection";
import { RemoteFunction, type FunctionHandle } from "./function-handle";

/** Options of `lookup()`. */
export interface LookupOptions {
  /** The deployed version to call; the current one when absent. @default undefined */
  version?: number;
}

/** One connection per server URL for every lookup in this process; it never keeps the process alive by itself. */
const connections = new Map<string, Promise<ServerConnection>>();

function sharedConnection(url: string): Promise<ServerConnection> {
  let connection = connections.get(url);
  if (!connection) {
    const opening: Promise<ServerConnection> = connectToServer(url).then((c) => {
      c.releaseWhenIdle();
      c.onClose(() => connections.get(url) === opening && connections.delete(url));
      return c;
    });
    opening.catch(() => connections.get(url) === opening && connections.delete(url));
    connections.set(url, opening);
    connection = opening;
  }
  return connection;
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
  const url = serverUrlFromEnv();
  const connection = await sharedConnection(url);
  const found = await connection.request<{ appId: string; version: number; function: FunctionManifest }>({
    type: "app.lookup",
    name: appName,
    function: functionName,
    version: options.version,
  });
  // Each call takes the shared connection anew, so a handle outlives a lost connection (a
  // restart of the server): the next call reconnects.
  return new RemoteFunction<A, R>(functionName, {
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
}
