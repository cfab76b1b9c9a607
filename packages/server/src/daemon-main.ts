/**
 * The daemon's entry point: `node daemon-main.js --port N --host H`, with STUBRUN_HOME set, and
 * STUBRUN_DAEMON_QUEUE (a Redis URL, which may hold a password) for `server start --queue`.
 */
import os from "node:os";
import path from "node:path";
import { runServerProcess } from "./run-server";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const home = process.env.STUBRUN_HOME || path.join(os.homedir(), ".stubrun");
const queue = process.env.STUBRUN_DAEMON_QUEUE || undefined;
delete process.env.STUBRUN_DAEMON_QUEUE;
runServerProcess({ home, port: Number(arg("port") ?? 7420), host: arg("host"), queue }).catch((error: Error) => {
  process.stderr.write(`stubrun server failed to start: ${error.message}\n`);
  process.exit(1);
});
