import { isProcessAlive, logFilePath, pidFilePath, pingServer, readDaemon, ServerUnavailableError, type DaemonInfo } from "@stubrun/protocol";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/**
 * The local server as a background daemon, seen from its clients: started detached with its
 * output in `$STUBRUN_HOME/server.log`, found through `$STUBRUN_HOME/server.pid`, stopped by
 * signal. This is client-side process control: the server package only provides the entry point
 * (`@stubrun/server/daemon-main`), found through its package.json `exports`. It stays light (no
 * SQLite, no ws) because the CLI loads it on every run.
 */

/** The daemon's entry point in the installed server package. */
const DAEMON_MAIN = require.resolve("@stubrun/server/daemon-main");

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;

/** Starts the daemon on `port` and returns once it answers. */
export async function startDaemon(home: string, port: number, host = "127.0.0.1", queue?: string): Promise<DaemonInfo> {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const log = fs.openSync(logFilePath(home), "a");
  const child = spawn(process.execPath, [DAEMON_MAIN, "--port", String(port), "--host", host], {
    detached: true,
    // The daemon never holds the caller's stdout/stderr open: its output goes to the log file.
    stdio: ["ignore", log, log],
    // The Redis URL may hold a password: in the environment, not on a command line `ps` shows.
    env: { ...daemonEnv(process.env), STUBRUN_HOME: home, ...(queue !== undefined ? { STUBRUN_DAEMON_QUEUE: queue } : {}) },
  });
  fs.closeSync(log);
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = signal ? `signal ${signal}` : `code ${code}`));
  child.unref();
  const url = `http://${host}:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) break;
    const info = readDaemon(home);
    if (info && info.pid === child.pid && (await pingServer(url, 500))) return info;
    await sleep(50);
  }
  if (!exited) child.kill("SIGKILL");
  // Another client may have started the daemon at the same moment: ours lost the home's lock
  // (or the port) to it. While the winner holds the lock, wait for it to answer.
  for (let holder = lockHolder(home); holder !== undefined && holder !== child.pid && isProcessAlive(holder) && Date.now() < deadline; holder = lockHolder(home)) {
    const info = readDaemon(home);
    if (info && info.pid === holder && (await pingServer(url, 500))) return info;
    await sleep(50);
  }
  const winner = readDaemon(home);
  if (winner && (await pingServer(url))) return winner;
  throw new ServerUnavailableError(
    `the stubrun server did not start on ${url} (${exited ? `it exited with ${exited}` : "no answer"}); ` +
      `its log is ${logFilePath(home)}:\n${tail(logFilePath(home))}`,
  );
}

/** Starts the daemon on the host and port of a server URL (what clients do when nothing answers there). */
export function startDaemonAt(home: string, url: string): Promise<DaemonInfo> {
  const { hostname, port } = new URL(url);
  return startDaemon(home, Number(port || 80), hostname.replace(/^\[|\]$/g, ""));
}

/** Stops the daemon and returns once it (and its workers) exited; false if none was running. */
export async function stopDaemon(home: string): Promise<boolean> {
  const info = readDaemon(home);
  if (!info) return false;
  process.kill(info.pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isProcessAlive(info.pid)) {
    if (Date.now() > deadline) {
      process.kill(info.pid, "SIGKILL");
      await sleep(100);
      break;
    }
    await sleep(25);
  }
  fs.rmSync(pidFilePath(home), { force: true });
  return true;
}

/**
 * The daemon's environment: what a server needs of the client that starts it, and nothing of the
 * client's own (`API_KEY=first stubrun a.ts` must not reach a later run's workers, nor sit in the
 * server's environment for a same-user process to read).
 */
export function daemonEnv(from: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = /^(PATH|HOME|USER|LOGNAME|LANG|LC_[A-Z]+|TZ|TMPDIR|TMP|TEMP|SYSTEMROOT|NODE_EXTRA_CA_CERTS|(HTTPS?|NO|ALL)_PROXY|STUBRUN_[A-Z0-9_]+)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(from)) if (value !== undefined && keep.test(key)) env[key] = value;
  return env;
}

/** The pid in the home's lock file (`state/home-lock.ts`), if any. */
function lockHolder(home: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(home, "server.lock"), "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
