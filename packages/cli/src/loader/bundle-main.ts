/**
 * `node bundle-main.js FILE`: loads FILE in a fresh process and prints its AppUpload as JSON on
 * stdout. `stubrun serve` uses it to reload a changed file: a fresh process is the only way to
 * run the new code's decorators against an empty registry.
 */
import { stubrunHome, UsageError } from "@stubrun/protocol";
import { loadAppUpload } from "./load-app";

loadAppUpload(process.argv[2], stubrunHome()).then(
  (upload) => process.stdout.write(JSON.stringify(upload)),
  (error: unknown) => {
    process.stderr.write(`${error instanceof UsageError ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
