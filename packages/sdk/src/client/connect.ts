import { clientToken, isLoopbackUrl, serverUrlFromEnv, ServerUnavailableError } from "@stubrun/protocol";
import { ServerConnection } from "./connection";

/** Starts a local server answering at `url` (the daemon), and resolves once it answers. */
export type ServerStarter = (url: string) => Promise<void>;

const GLOBAL_KEY = Symbol.for("stubrun.serverStarter");
const holder = globalThis as { [GLOBAL_KEY]?: ServerStarter };

/**
 * Set by the `stubrun` package and the CLI: how a client starts the local daemon. The SDK itself
 * never imports the server, so a program that depends only on `@stubrun/client` has no starter.
 */
export function setServerStarter(starter: ServerStarter): void {
  holder[GLOBAL_KEY] = starter;
}

/**
 * Connects to the server at `url`. When nothing answers there and it is a loopback address,
 * starts the local daemon on that port (calling `onStarting` first) and connects to it, if a
 * starter is set; otherwise, and for any other URL, the server must already answer.
 */
export async function connectToServer(url = serverUrlFromEnv(), options: { onStarting?: (url: string) => void } = {}): Promise<ServerConnection> {
  try {
    return await ServerConnection.open(url, { credential: clientToken(url) });
  } catch (error) {
    const refused = error instanceof ServerUnavailableError && /ECONNREFUSED/.test(error.message);
    const starter = holder[GLOBAL_KEY];
    if (refused && isLoopbackUrl(url) && !starter) {
      // A lookup-only program (@stubrun/client) has no server to start: say how to start one.
      throw new ServerUnavailableError(
        `no stubrun server answers at ${url}; start one with \`npx stubrun server start\` (the \`stubrun\` package), ` +
          `or set STUBRUN_SERVER_URL to a running server`,
        { cause: error },
      );
    }
    if (!refused || !isLoopbackUrl(url) || !starter) {
      const message = (error as Error).message;
      // Errors that already say what to do (a token, a port taken by something else) stand as they are.
      if (/STUBRUN_|refused the connection/.test(message)) throw error;
      throw new ServerUnavailableError(
        `${message}. Check that the server is running and STUBRUN_SERVER_URL is right` +
          (isLoopbackUrl(url) ? "" : ", or unset STUBRUN_SERVER_URL to use a local server"),
      );
    }
    options.onStarting?.(url);
    await starter(url);
    // Read after the start: the daemon writes its token file as it starts.
    return ServerConnection.open(url, { credential: clientToken(url) });
  }
}
