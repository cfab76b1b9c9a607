import { serverUrlFromEnv, UsageError, type FunctionManifest } from "@stubrun/protocol";
import { lookupFunction, type FunctionCall } from "@stubrun/sdk";
import { ApiClient } from "../api-client";
import { ExitStatus, INTERRUPTED } from "../exit-status";
import { Status } from "../status";
import { formatEntrypointHelp, parseEntrypointOptions, withHelpHint } from "./entrypoint-options";
import { printValue } from "./print-value";
import { useLocalDaemon } from "./server-client";

export interface CallOptions {
  /** The deployed app's name (or id). */
  app: string;
  /** `Class.method`; absent, the app's functions are listed in the error. */
  functionName: string | undefined;
  /** Everything after the function: its options. */
  functionArgs: string[];
  /** A deployed version to call instead of the current one. */
  version: number | undefined;
  home: string;
}

/**
 * `stubrun call APP Class.method [options]`: calls a function of a deployed app from the shell.
 * Options are read from the parameters stored in the app's manifest, by the same rules (and
 * with the same `--help`) as `stubrun FILE`; the function's output streams here as it runs,
 * then its return value prints (each yielded value, for a generator). Ctrl-C cancels the call.
 */
export async function callDeployed(options: CallOptions): Promise<void> {
  useLocalDaemon(options.home);
  const functionName = options.functionName ?? (await missingFunction(options));
  const { handle: found, manifest, version } = await lookupFunction(options.app, functionName, { version: options.version });
  const command = `call ${options.app} ${functionName}`;
  if (options.functionArgs.includes("--help") || options.functionArgs.includes("-h")) {
    process.stdout.write(`${help(options.app, version, manifest)}\n`);
    return;
  }
  if (manifest.params.some((p) => p.type === "request")) {
    throw new UsageError(`${functionName} is a web endpoint that reads the raw HTTP request: call it at its URL (see npx stubrun app list and the apps page), not with stubrun call`);
  }
  // A parametrized class's parameters are options too (`--model small`), as with `stubrun FILE`.
  const classParams = manifest.classParams ?? [];
  const parsed = withHelpHint(() => parseEntrypointOptions(manifest.params, classParams, options.functionArgs, functionName), command);
  const args = parsed.args;
  const handle = Object.keys(parsed.classValues).length > 0 ? found.with(parsed.classValues) : found;
  if (manifest.generator) {
    await untilInterrupted(undefined, async () => {
      for await (const value of handle.remoteGen(...args)) printValue(value);
    });
    return;
  }
  const call = await handle.spawn(...args);
  await untilInterrupted(call, async () => printValue(await call.get()));
}

/** Without a function, the error lists the app's functions (it also says when the app is missing). */
async function missingFunction(options: CallOptions): Promise<never> {
  const api = new ApiClient(serverUrlFromEnv(), options.home, new Status(false));
  const app = await api.get<{ functions: string[] }>(`/api/apps/${encodeURIComponent(options.app)}`);
  const first = app.functions[0] ?? "Class.method";
  throw new UsageError(`say which function of ${options.app} to call, like: npx stubrun call ${options.app} ${first}; its functions are: ${app.functions.join(", ") || "none"}`);
}

/**
 * Runs `work` until it ends or Ctrl-C comes. Ctrl-C cancels the call (a generator's call is
 * cancelled by leaving its loop) and, once the server has it cancelled, exits 130: the call's
 * own rejection as cancelled is then the interrupt's, not a failure.
 */
async function untilInterrupted(call: FunctionCall | undefined, work: () => Promise<void>): Promise<void> {
  let interrupted = false;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const handler = () => {
    interrupted = true;
    process.stderr.write(`\nInterrupted: cancelling the call${call ? ` ${call.id}` : ""}\n`);
    void (call ? call.cancel() : Promise.resolve()).catch(() => {}).finally(stop);
  };
  process.once("SIGINT", handler);
  try {
    await Promise.race([work(), stopped]);
  } catch (error) {
    if (!interrupted) throw error;
  } finally {
    process.off("SIGINT", handler);
  }
  if (interrupted) {
    await stopped;
    throw new ExitStatus(INTERRUPTED);
  }
}

function help(app: string, version: number, manifest: FunctionManifest): string {
  const kind = manifest.generator ? "a generator function: each value it yields prints as it comes" : "a function: its return value prints";
  const classParams = { className: manifest.className, params: manifest.classParams ?? [] };
  return formatEntrypointHelp(manifest.params, `stubrun call ${app} ${manifest.name} [options]`, `${manifest.name} of ${app} (version ${version}): ${kind}.`, classParams);
}
