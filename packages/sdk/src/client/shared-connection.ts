import { connectToServer } from "./connect";
import type { ServerConnection } from "./connection";

/** One connection per server URL for every lookup (and Dict or Queue) of this process. */
const connections = new Map<string, Promise<ServerConnection>>();

/** The process's connection to `url`; it never keeps the process alive by itself. */
export function sharedConnection(url: string): Promise<ServerConnection> {
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
