import type { FunctionOptionsManifest } from "./manifest";

/** Where clients look for the server unless `STUBRUN_SERVER_URL` says otherwise. */
export const DEFAULT_SERVER_URL = "http://127.0.0.1:7420";

/** The largest WebSocket message the server accepts (code uploads included). */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** How often clients heartbeat, and how long the server waits for one before giving a client up. */
export const HEARTBEAT_INTERVAL_MS = 2_000;
/** Short enough that a silent client's app stops within 10 s of its last heartbeat, checks included. */
export const HEARTBEAT_TIMEOUT_MS = 8_000;

/** SPEC §2 defaults for function options. */
export const DEFAULT_FUNCTION_OPTIONS: FunctionOptionsManifest = {
  timeout: 300,
  retries: { maxRetries: 0, initialDelayMs: 1000, backoffCoefficient: 2, maxDelayMs: 60_000 },
  concurrencyLimit: 8,
  keepWarm: 0,
  containerIdleTimeout: 60,
};

/** The server URL clients use. */
export function serverUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return (env.STUBRUN_SERVER_URL || DEFAULT_SERVER_URL).replace(/\/+$/, "");
}

/** True for URLs on this machine: only those may start a local daemon. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}
