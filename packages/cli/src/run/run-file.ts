import { CallCancelledError, encodeValue, isGeneratorObject, requestedEnv, ServerUnavailableError, serverUrlFromEnv, UsageError, type ClassParamValues, type ParamManifest } from "@stubrun/protocol";
import { applyClassParams, callsInFlight, FunctionCall, getFunctions, registry, setSessionProvider, type ServerConnection } from "@stubrun/sdk";
import { ApiClient } from "../api-client";
import { AppAssets } from "../upload/app-assets";
import { bundleApp, packLocalFiles } from "../upload/app-bundle";
import { TypeScriptLoader } from "../loader/typescript.loader";
import { useCompileCache } from "../loader/compile-cache";
import { ExitStatus, INTERRUPTED } from "../exit-status";
import { Status } from "../status";
import { formatEntrypointHelp, parseEntrypointOptions, withHelpHint } from "./entrypoint-options";
import { printValue } from "./print-value";
import { ParamsReader } from "./entrypoint-params";
import { resolveEntrypoint, type Entrypoint } from "./entrypoint.resolver";
import { buildImages } from "./image-builds";
import { buildManifest } from "./manifest.builder";
import { connectIfUp, connectOrStartServer } from "./server-client";
import { parseTarget } from "./target";

export interface RunOptions {
  /** `FILE[::REF]`. */
  target: string;
  /** Everything after FILE: the entrypoint's options. */
  entryArgs: string[];
  quiet: boolean;
  detach: boolean;
  home: string;
}

/**
 * `stubrun FILE[::REF] [options]`: loads the file, chooses the entrypoint, parses its options,
 * creates an ephemeral app on the server, runs the entrypoint (locally, or remotely for a
 * function), prints its return value, and stops the app.
 */
export async function runFile(options: RunOptions): Promise<void> {
  const early = connectIfUp();
  // One turn of the event loop: the handshake's request goes out before the file loads (synchronously).
  await new Promise((resolve) => setImmediate(resolve));
  const unused = () => void early.then((connection) => connection?.close());
  const prepared = await prepare(options).catch((error: unknown) => {
    unused();
    throw error;
  });
  if (prepared === "help") return unused();
  const { file, entrypoint, loader, params, args, classValues } = prepared;
  const status = new Status(options.quiet);
  const url = serverUrlFromEnv();
  const connection = (await early) ?? (await connectOrStartServer(url, options.home, status));
  // Whatever ends the run (a refusal of the app, an error, success), the connection closes, so the process can exit.
  try {
    const stub = registry().stubOf(entrypoint.cls);
    const assets = new AppAssets();
    const bundle = bundleApp(file, loader.files.values(), assets);
    const manifest = buildManifest(stub, bundle, params, packLocalFiles(bundle, assets));
    await assets.upload(new ApiClient(url, options.home, status), status);
    await buildImages(connection, manifest, status);
    const { appId } = await connection.request<{ appId: string }>({
      type: "app.create",
      manifest,
      files: bundle.files,
      detach: options.detach,
      ...requestedEnv(),
    });
    status.line(`Created app ${appId}${stub?.name ? ` (${stub.name})` : ""}; running ${entrypoint.name} ${entrypoint.where === "local" ? "locally" : "remotely"}`);
    await runApp(entrypoint, { args, classValues }, connection, appId, status, options.detach);
  } finally {
    connection.close();
  }
}

/** The loaded program, its entrypoint and its arguments; "help" when the entrypoint's help was printed instead. */
type Prepared =
  | "help"
  | { file: string; entrypoint: Entrypoint; loader: TypeScriptLoader; params: ParamsReader; args: unknown[]; classValues: ClassParamValues };

/** Loads the file, chooses the entrypoint and parses its options (or prints its --help). */
async function prepare(options: RunOptions): Promise<Prepared> {
  const { file, ref } = parseTarget(options.target);
  useCompileCache(options.home);
  const loader = new TypeScriptLoader();
  await loader.load(file);
  const entrypoint = resolveEntrypoint(file, ref);
  const params = new ParamsReader(loader.files.values());
  const entryParams = params.params(entrypoint.cls, entrypoint.methodName);
  // The class's @stub.parameter() properties are options too (`--model small`); a local
  // entrypoint's instance is its own (its calls choose with .with()), so none is required there.
  const classParams = params.classParams(entrypoint.cls).map((p) => (entrypoint.where === "local" ? { ...p, required: false } : p));
  if (options.entryArgs.includes("--help") || options.entryArgs.includes("-h")) {
    process.stdout.write(`${help(file, entrypoint, entryParams, classParams, params)}\n`);
    return "help";
  }
  const { args, classValues } = withHelpHint(() => parseEntrypointOptions(entryParams, classParams, options.entryArgs, entrypoint.name), `${file}::${entrypoint.name}`);
  return { file, entrypoint, loader, params, args, classValues };
}

/** Runs the entrypoint against a created app, prints its return value, and ends the app. */
async function runApp(entrypoint: Entrypoint, args: EntrypointValues, connection: ServerConnection, appId: string, status: Status, detach: boolean): Promise<void> {
  const interrupt = onInterrupt(connection, appId, detach);
  let failed = false;
  try {
    // Ctrl-C ends the run even while a local entrypoint is still busy.
    const value = await Promise.race([runEntrypoint(entrypoint, args, connection, appId), interrupt.stopped]);
    if (isGeneratorObject(value)) {
      // A generator entrypoint (`async *main()`): each value it yields is printed as it comes.
      const items = value as AsyncIterable<unknown>;
      await Promise.race([(async () => { for await (const item of items) printValue(item); })(), interrupt.stopped]);
    } else printValue(value);
    leftRunning(entrypoint, detach);
  } catch (error) {
    // After Ctrl-C the calls fail as cancelled: what counts is the interrupt, once the app is stopped.
    if (interrupt.interrupted) await interrupt.stopped;
    failed = true;
    throw error;
  } finally {
    if (!interrupt.interrupted) {
      process.off("SIGINT", interrupt.handler);
      await finish(connection, appId, status, detach, failed);
    }
  }
}

/**
 * A local entrypoint that returned while calls it started still run (a forgotten `await`): they
 * are cut short when the app stops, so say so and fail, unless the app is detached (they finish
 * there). Either way their promises reject once the app or the connection goes, with nobody
 * awaiting them: that is expected, not a crash.
 */
function leftRunning(entrypoint: Entrypoint, detach: boolean): void {
  const running = callsInFlight();
  if (running.length === 0) return;
  process.on("unhandledRejection", (reason) => {
    if (reason instanceof CallCancelledError || reason instanceof ServerUnavailableError) return;
    throw reason;
  });
  if (detach) return;
  const names = [...new Set(running)].join(", ");
  const calls = running.length === 1 ? "1 call was" : `${running.length} calls were`;
  process.stderr.write(
    `Error: ${entrypoint.name} returned while ${calls} still running (${names}): await ${running.length === 1 ? "it" : "them"} (await fn(this.f).remote(...)), or run with --detach to let ${running.length === 1 ? "it" : "them"} finish\n`,
  );
  throw new ExitStatus(1);
}

/**
 * `this.square(3)` in a local entrypoint runs the function here, not remotely, which is rarely
 * what was meant: the first such call of each function says so once (fn(this.square) still
 * knows the method, through the registry's alias).
 */
function noteDirectCalls(cls: Entrypoint["cls"], instance: Record<string, (...a: unknown[]) => unknown>, classValues: ClassParamValues): void {
  for (const { methodName } of getFunctions(cls)) {
    const method = instance[methodName];
    if (typeof method !== "function") continue;
    let said = false;
    const direct = function (this: unknown, ...args: unknown[]) {
      if (!said) {
        said = true;
        process.stderr.write(`stubrun: this.${methodName}(...) runs ${cls.name}.${methodName} here, in this process; to run it remotely: await fn(this.${methodName}).remote(...)\n`);
      }
      return method.apply(this, args);
    };
    Object.setPrototypeOf(direct, method); // keeps what the decorator put on it (this.f.remote says how to call)
    registry().alias(direct, method, classValues); // fn(this.f) calls it with this instance's parameters
    Object.defineProperty(instance, methodName, { value: direct, configurable: true, writable: true });
  }
}

/** The entrypoint's arguments, and the values of its class's `@stub.parameter()` properties. */
interface EntrypointValues {
  args: unknown[];
  classValues: ClassParamValues;
}

function runEntrypoint(entrypoint: Entrypoint, { args, classValues }: EntrypointValues, connection: ServerConnection, appId: string): Promise<unknown> {
  setSessionProvider(async () => ({ connection, appId }));
  if (entrypoint.where === "remote") {
    const encoded = args.map((arg, i) => encodeValue(arg, `argument ${i + 1} of ${entrypoint.name}`));
    const session = { connection, appId, ...(Object.keys(classValues).length > 0 ? { params: classValues } : {}) };
    // A generator function run directly: each value it yields is printed as it comes.
    if (getFunctions(entrypoint.cls).find((f) => f.methodName === entrypoint.methodName)?.generator) {
      return FunctionCall.start(session, entrypoint.name, encoded, printValue).then((call) => call.get().then(() => undefined));
    }
    return FunctionCall.start(session, entrypoint.name, encoded).then((call) => call.get());
  }
  const instance = new (entrypoint.cls as unknown as new () => Record<string, (...a: unknown[]) => unknown>)();
  applyClassParams(entrypoint.cls, instance, classValues);
  noteDirectCalls(entrypoint.cls, instance, classValues);
  return Promise.resolve(instance[entrypoint.methodName](...args));
}

/**
 * Ends the run: a detached app keeps going (and the user learns how to follow it); any other app
 * stops. When it cannot be stopped (the server is gone), no "Stopped" line: the run's own error
 * says what happened, or, after a success, a line says why the app was not stopped.
 */
async function finish(connection: ServerConnection, appId: string, status: Status, detach: boolean, failed: boolean): Promise<void> {
  if (detach) {
    status.line(`App ${appId} keeps running detached. Follow it with: npx stubrun app logs ${appId} --follow`);
    status.line(`Stop it with: npx stubrun app stop ${appId}`);
    return;
  }
  try {
    await connection.request({ type: "app.stop", appId });
    status.line(`Stopped app ${appId}`);
  } catch (error) {
    if (!failed) status.line(`Could not stop app ${appId}: ${(error as Error).message}`);
  }
}

/**
 * Ctrl-C: say the app is stopping, stop it; `stopped` then rejects with exit code 130 (the bin
 * exits at once, whatever the local entrypoint still holds open).
 */
function onInterrupt(connection: ServerConnection, appId: string, detach: boolean): { handler: () => void; interrupted: boolean; stopped: Promise<never> } {
  let interrupted: (error: ExitStatus) => void = () => {};
  const stopped = new Promise<never>((_resolve, reject) => (interrupted = reject));
  stopped.catch(() => {}); // awaited only once Ctrl-C comes
  const state = {
    interrupted: false,
    stopped,
    handler: () => {
      state.interrupted = true;
      process.stderr.write(`\nInterrupted: ${detach ? "leaving detached" : "stopping"} app ${appId}\n`);
      const stopping = detach ? Promise.resolve() : connection.request({ type: "app.stop", appId }).catch(() => {});
      void stopping.finally(() => {
        connection.close();
        interrupted(new ExitStatus(INTERRUPTED));
      });
    },
  };
  process.once("SIGINT", state.handler);
  return state;
}

function help(file: string, entrypoint: Entrypoint, entryParams: ParamManifest[], classParams: ParamManifest[], params: ParamsReader): string {
  const where = entrypoint.where === "local" ? "a local entrypoint, runs in this process" : "a function, runs remotely";
  const summary = [params.description(entrypoint.cls, entrypoint.methodName), `${entrypoint.name}: ${where}.`].filter(Boolean).join("\n\n");
  return formatEntrypointHelp(entryParams, `stubrun ${file}::${entrypoint.name} [options]`, summary, { className: entrypoint.cls.name, params: classParams });
}
