import fs from "node:fs";
import { appsPageLink, pidFilePath, pingServer, readDaemon, UsageError } from "@stubrun/protocol";
import { startServer, type RunningServer } from "./server";
import { HomeLock, lockFilePath } from "./state/home-lock";

/**
 * Runs the server in this process until SIGINT or SIGTERM, holding the home's lock from before
 * the database opens until it exits, with its pid file written while it listens. Used by
 * `stubrun server` in the foreground and by the daemon.
 */
export async function runServerProcess(options: { home: string; port: number; host?: string; queue?: string; log?: (line: string) => void }): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Two servers on one STUBRUN_HOME would share one database and one pid file.
  const attempt = HomeLock.acquire(options.home);
  if (!attempt.ok) throw await anotherServer(options.home, attempt.pid);
  const lock = attempt.lock;
  let server: RunningServer;
  try {
    // A server from before the lock existed holds none: it still answers at its pid file's URL.
    const other = readDaemon(options.home);
    if (other && other.pid !== process.pid && (await pingServer(other.url))) throw await anotherServer(options.home, other.pid, other.url);
    server = await startServer(options);
  } catch (error) {
    lock.release();
    throw error;
  }
  const pidFile = pidFilePath(options.home);
  fs.writeFileSync(pidFile, JSON.stringify({ pid: process.pid, port: server.port, url: server.url }));
  const stop = (signal: string) => {
    log(`stubrun server: ${signal}, stopping`);
    void server.close().finally(() => {
      removeOwnPidFile(pidFile);
      lock.release();
      process.exit(0);
    });
  };
  // Before the line that says it listens: a SIGTERM sent as soon as that line is read (a test,
  // a supervisor) must stop the server cleanly, not kill it with the lock and pid file left.
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  log(`stubrun server listening on ${server.url} (STUBRUN_HOME=${options.home}, pid ${process.pid})`);
  if (options.queue !== undefined) log(`stubrun server: calls go through BullMQ on ${redactedRedisUrl(options.queue)} to worker nodes (npx stubrun worker --server URL --queue ...)`);
  log(`Apps page (this link logs a browser in): ${appsPageLink(server.url, server.token)}`);
  return server;
}

async function anotherServer(home: string, pid: number, knownUrl?: string): Promise<UsageError> {
  const info = readDaemon(home);
  const url = knownUrl ?? (info?.pid === pid ? info.url : undefined);
  // A pid can be reused (after a reboot): say how to get out if it is not a server at all.
  const answering = url !== undefined && (knownUrl !== undefined || (await pingServer(url)));
  const where = answering ? url : `${url ? `not answering at ${url}` : "still starting"}; if no stubrun server runs, remove ${lockFilePath(home)}`;
  return new UsageError(
    `another stubrun server (pid ${pid}, ${where}) already uses STUBRUN_HOME=${home}; ` +
      `use that one, stop it with: npx stubrun server stop, or give this one its own STUBRUN_HOME`,
  );
}

function removeOwnPidFile(pidFile: string): void {
  try {
    if ((JSON.parse(fs.readFileSync(pidFile, "utf8")) as { pid: number }).pid === process.pid) fs.rmSync(pidFile);
  } catch {
    // already gone
  }
}

/** A Redis URL without its password, for the log. */
function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}
