import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isLoopbackUrl } from "./defaults";

/**
 * The credential a client (CLI, SDK, a worker's nested calls) sends as `Authorization: Bearer`:
 * `STUBRUN_TOKEN` when set, else, for a server on this machine, the local token the server keeps
 * in `$STUBRUN_HOME/token`.
 */
export interface ClientToken {
  token: string;
  /** Where it came from, for error messages: "STUBRUN_TOKEN" or the token file's path. */
  source: string;
}

/** `$STUBRUN_HOME`, default `~/.stubrun`. */
export function stubrunHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.STUBRUN_HOME || path.join(os.homedir(), ".stubrun"));
}

/** The file holding a server's local token. */
export function tokenFilePath(home: string): string {
  return path.join(home, "token");
}

/** The token in `home`'s token file, if there is one. */
export function readTokenFile(home: string): string | undefined {
  try {
    return fs.readFileSync(tokenFilePath(home), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What a client sends to the server at `url`; read anew each time, since the server may have just created its file. */
export function clientToken(url: string, env: NodeJS.ProcessEnv = process.env): ClientToken | undefined {
  if (env.STUBRUN_TOKEN) return { token: env.STUBRUN_TOKEN, source: "STUBRUN_TOKEN" };
  if (!isLoopbackUrl(url)) return undefined;
  const file = tokenFilePath(stubrunHome(env));
  const token = readTokenFile(stubrunHome(env));
  return token ? { token, source: file } : undefined;
}

/** Says what to do when the server at `url` answered 401 to `sent`. */
export function tokenRefusedMessage(url: string, sent: ClientToken | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const home = isLoopbackUrl(url) ? `, or STUBRUN_HOME to the home it was started with` : "";
  if (!sent) {
    const noFile = isLoopbackUrl(url) ? ` (STUBRUN_TOKEN is not set and there is no ${tokenFilePath(stubrunHome(env))})` : " (STUBRUN_TOKEN is not set)";
    return `the server at ${url} needs a token${noFile}: set STUBRUN_TOKEN to its token${home}`;
  }
  const from = sent.source === "STUBRUN_TOKEN" ? "STUBRUN_TOKEN" : `the token in ${sent.source}`;
  return `the server at ${url} refused the token (${from}): set STUBRUN_TOKEN to its token${home}`;
}

/** The apps page link that logs a browser in (`/apps?token=T` sets a cookie). */
export function appsPageLink(serverUrl: string, token: string): string {
  // A server on every address is reached on loopback from this machine's browser.
  const url = serverUrl.replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=:|$)/, "http://127.0.0.1");
  return `${url}/apps?token=${encodeURIComponent(token)}`;
}
