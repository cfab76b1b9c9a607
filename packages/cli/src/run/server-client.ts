import { isLoopbackUrl, ServerUnavailableError } from "@stubrun/protocol";
import { ServerConnection } from "@stubrun/sdk";
import { logFilePath, startDaemon } from "@stubrun/server/dist/daemon";
import type { Status } from "../status";

/**
 * Connects to the server at `url`. When nothing answers there and it is a loopback address, starts
 * the local daemon on that port (saying so) and connects to it; any other URL must already answer.
 */
export async function connectToServer(url: string, home: string, status: Status): Promise<ServerConnection> {
  const token = process.env.STUBRUN_TOKEN;
  try {
    return await ServerConnection.open(url, { token });
  } catch (error) {
    const refused = error instanceof ServerUnavailableError && /ECONNREFUSED/.test(error.message);
    if (!refused || !isLoopbackUrl(url)) {
      throw new ServerUnavailableError(
        `${(error as Error).message}. Check that the server is running and STUBRUN_SERVER_URL is right` +
          (isLoopbackUrl(url) ? "" : ", or unset STUBRUN_SERVER_URL to use a local server"),
      );
    }
  }
  const { hostname, port } = new URL(url);
  status.line(`Starting a local stubrun server on ${url} (log: ${logFilePath(home)})`);
  await startDaemon(home, Number(port || 80), hostname.replace(/^\[|\]$/g, ""));
  return ServerConnection.open(url, { token });
}
