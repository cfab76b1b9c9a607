import fs from "node:fs";
import { UsageError } from "@stubrun/protocol";
import { pidFilePath, pingServer, readDaemon } from "./daemon";
import { startServer, type RunningServer } from "./server";
import { appsPageLink } from "./local-token";

/**
 * Runs the server in this process until SIGINT or SIGTERM, with its pid file written while it
 * listens. Used by `stubrun server` in the foreground and by the daemon.
 */
export async function runServerProcess(options: { home: string; port: number; host?: string; log?: (line: string) => void }): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Two servers on one STUBRUN_HOME would share one database and one pid file.
  const other = readDaemon(options.home);
  if (other && other.pid !== process.pid && (await pingServer(other.url))) {
    throw new UsageError(
      `another stubrun server (pid ${other.pid}, ${other.url}) already uses STUBRUN_HOME=${options.home}; ` +
        `use that one, stop it with: npx stubrun server stop, or give this one its own STUBRUN_HOME`,
    );
  }
  const server = await startServer(options);
  const pidFile = pidFilePath(options.home);
  fs.writeFileSync(pidFile, JSON.stringify({ pid: process.pid, port: server.port, url: server.url }));
  log(`stubrun server listening on ${server.url} (STUBRUN_HOME=${options.home}, pid ${process.pid})`);
  log(`Apps page (this link logs a browser in): ${appsPageLink(server.url, server.token)}`);
  const stop = (signal: string) => {
    log(`stubrun server: ${signal}, stopping`);
    void server.close().finally(() => {
      removeOwnPidFile(pidFile);
      process.exit(0);
    });
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  return server;
}

function removeOwnPidFile(pidFile: string): void {
  try {
    if ((JSON.parse(fs.readFileSync(pidFile, "utf8")) as { pid: number }).pid === process.pid) fs.rmSync(pidFile);
  } catch {
    // already gone
  }
}
