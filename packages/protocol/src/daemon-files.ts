import fs from "node:fs";
import path from "node:path";
import { isProcessAlive } from "./process-alive";

/**
 * The files through which a local server (the daemon) and its clients find each other in
 * `$STUBRUN_HOME`: the server writes `server.pid` once it listens and its output goes to
 * `server.log`; clients read them to find, start and stop it.
 */
export interface DaemonInfo {
  pid: number;
  port: number;
  url: string;
}

/** The pid file a running server keeps in its home. */
export function pidFilePath(home: string): string {
  return path.join(home, "server.pid");
}

/** Where a daemon's output goes. */
export function logFilePath(home: string): string {
  return path.join(home, "server.log");
}

/** What the pid file says, if the process it names is alive. */
export function readDaemon(home: string): DaemonInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(pidFilePath(home), "utf8")) as DaemonInfo;
    return isProcessAlive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}
