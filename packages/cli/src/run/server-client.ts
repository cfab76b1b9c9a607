import { connectToServer as connect, ServerConnection, setServerStarter } from "@stubrun/sdk";
import { clientToken, logFilePath, serverUrlFromEnv } from "@stubrun/protocol";
import type { Status } from "../status";

/**
 * How clients in this process start the local daemon when nothing answers at a loopback server
 * URL: `$STUBRUN_HOME` is where its state goes.
 */
export function useLocalDaemon(home: string): void {
  // Required when a daemon must start, not on every run.
  setServerStarter(async (url) => void (await (require("@stubrun/daemon") as typeof import("@stubrun/daemon")).startDaemonAt(home, url)));
}

/**
 * A connection to a server that already answers at STUBRUN_SERVER_URL, or undefined: it starts
 * nothing and says nothing (connectOrStartServer does both, and says why it cannot connect). The
 * run command opens it before it loads the user's file, so that the server's half of the
 * handshake happens meanwhile (issue 11), and a file that does not load starts no daemon.
 */
export async function connectIfUp(): Promise<ServerConnection | undefined> {
  try {
    const url = serverUrlFromEnv();
    return await ServerConnection.open(url, { credential: clientToken(url) });
  } catch {
    return undefined;
  }
}

/** Connects to the server, starting the local daemon (and saying so) when it must. */
export function connectOrStartServer(url: string, home: string, status: Status): Promise<ServerConnection> {
  useLocalDaemon(home);
  return connect(url, { onStarting: () => status.line(`Starting a local stubrun server on ${url} (log: ${logFilePath(home)})`) });
}
