import fs from "node:fs";
import path from "node:path";

/**
 * The one place that decides how the proof tools (faults, fuzz, load) authenticate a raw `/api`
 * request or WebSocket: `Authorization: Bearer TOKEN` when `STUBRUN_TOKEN` is set or the server
 * keeps a token in `$STUBRUN_HOME/token`; nothing otherwise (a server that needs none).
 */
export function serverToken(home: string): string | undefined {
  if (process.env.STUBRUN_TOKEN) return process.env.STUBRUN_TOKEN;
  try {
    return fs.readFileSync(path.join(home, "token"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The headers every direct request to the server of `home` carries. */
export function authHeaders(home: string): Record<string, string> {
  const token = serverToken(home);
  return token ? { authorization: `Bearer ${token}` } : {};
}
