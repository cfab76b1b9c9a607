/** The daemon's entry point: `node daemon-main.js --port N --host H [--queue redis://...]`, with STUBRUN_HOME set. */
import os from "node:os";
import path from "node:path";
import { runServerProcess } from "./run-server";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const home = process.env.STUBRUN_HOME || path.join(os.homedir(), ".stubrun");
runServerProcess({ home, port: Number(arg("port") ?? 7420), host: arg("host"), queue: arg("queue") }).catch((error: Error) => {
  process.stderr.write(`stubrun server failed to start: ${error.message}\n`);
  process.exit(1);
});
