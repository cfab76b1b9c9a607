import { connectToServer as connect, setServerStarter, type ServerConnection } from "@stubrun/sdk";
import { startDaemonAt } from "@stubrun/daemon";
import { logFilePath } from "@stubrun/protocol";
import type { Status } from "../status";

/**
 * How clients in this process start the local daemon when nothing answers at a loopback server
 * URL: `$STUBRUN_HOME` is where its state goes.
 */
export function useLocalDaemon(home: string): void {
  setServerStarter(async (url) => void (await startDaemonAt(home, url)));
}

/** Connects to the server, starting the local daemon (and saying so) when it must. */
export function connectOrStartServer(url: string, home: string, status: Status): Promise<ServerConnection> {
  useLocalDaemon(home);
  return connect(url, { onStarting: () => status.line(`Starting a local stubrun server on ${url} (log: ${logFilePath(home)})`) });
}
