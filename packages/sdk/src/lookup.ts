import { serverUrlFromEnv, type FunctionManifest } from "@stubrun/protocol";
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
    connection = connectToServer(url).then((c) => {
      c.releaseWhenIdle();
      c.onClose(() => connections.delete(url));
      return c;
    });
    connection.catch(() => connections.delete(url));
    connections.set(url, connection);
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
  const connection = await sharedConnection(serverUrlFromEnv());
  const found = await connection.request<{ appId: string; version: number; function: FunctionManifest }>({
    type: "app.lookup",
    name: appName,
    function: functionName,
    version: options.version,
  });
  const session = { connection, appId: found.appId, version: options.version };
  return new RemoteFunction<A, R>(functionName, { session: async () => session });
}
