/**
 * The worker process. The server forks it with STUBRUN_WORKER_CONFIG; it loads the app's uploaded
 * code, creates one instance of the function's class, runs its enter hooks, then serves calls over
 * the IPC channel (one at a time, or up to `concurrentInputs` at once) until told to shut down
 * (then its exit hooks run).
 */
import {
  clientToken,
  decodeValue,
  encodeResponse,
  isGeneratorObject,
  encodeValue,
  toWireError,
  UncarriableValueError,
  UsageError,
  type Encoded,
  type FromWorkerMessage,
  type ToWorkerMessage,
  type WorkerConfig,
} from "@stubrun/protocol";
import { applyClassParams, getHooks, mountVolumes, registry, ServerConnection, setSessionProvider, type AppSession } from "@stubrun/sdk";
import path from "node:path";
import { callContext } from "./call-context";
import { importEsmEntry } from "./esm-loader";
import { installModuleResolution } from "./module-resolution";
import { captureOutput } from "./output-capture";

const config = JSON.parse(process.env.STUBRUN_WORKER_CONFIG ?? "{}") as WorkerConfig;
delete process.env.STUBRUN_WORKER_CONFIG; // the function sees SPEC §2's environment, not the worker's plumbing
const functionName = `${config.className}.${config.methodName}`;
const maxCalls = config.concurrentInputs ?? 1;
const calls = callContext(maxCalls);
/** Calls running now: the dispatcher sends at most `maxCalls`, a run past that is ignored. */
let running = 0;
let instance: Record<string, unknown> | undefined;

/** Resolves once the last message sent has been handed to the IPC channel. */
let lastSend: Promise<void> = Promise.resolve();

/**
 * Sends a message to the server. Throws when the message cannot be serialized (a value nested too
 * deep for JSON), so the caller can send an error instead; a closed channel is ignored.
 */
function send(message: FromWorkerMessage): void {
  if (!process.connected || !process.send) return;
  let markSent!: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  process.send(message, undefined, {}, () => markSent());
  lastSend = sent;
}

async function start(): Promise<void> {
  process.setSourceMapsEnabled(true);
  installModuleResolution(config.imageDir);
  captureOutput(() => calls.current(), (callId, stream, data) => send({ type: "output", callId, stream, data }));
  connectNestedCalls();
  // Its Volumes' last committed versions are in place before the code (and its enter hooks) runs.
  if (config.volumes) await mountVolumes(config.volumes);
  // A program that awaits at its top level was uploaded as ES modules, its entry `.mjs`.
  if (config.entry.endsWith(".mjs")) await importEsmEntry(config.codeDir, config.entry, config.imageDir);
  else require(path.join(config.codeDir, config.entry));
  const cls = registry().findClass(config.className);
  if (!cls) throw new UsageError(`the uploaded code defines no decorated class ${config.className}`);
  const created = new (cls as unknown as new () => Record<string, unknown>)();
  if (typeof created[config.methodName] !== "function") throw new UsageError(`${functionName} is not a method`);
  // This worker serves one set of parameter values: they are set before the enter hooks see the instance.
  applyClassParams(cls, created, config.params);
  for (const hook of getHooks(cls).enter) await (created[hook] as () => unknown).call(created);
  instance = created;
}

async function run(callId: string, encodedArgs: Encoded[]): Promise<void> {
  try {
    // Decoded inside the try: arguments that fail to decode fail this call, not the worker.
    const args = encodedArgs.map(decodeValue);
    const method = (instance as Record<string, (...a: unknown[]) => unknown>)[config.methodName];
    const returned = method.apply(instance, args);
    // A generator function: each value it yields goes to the caller as it comes, in order with the output.
    if (isGeneratorObject(returned)) {
      for await (const item of returned as AsyncIterable<unknown>) send({ type: "yield", callId, value: encodeValue(item, `a value ${functionName} yielded`) });
    }
    const value = isGeneratorObject(returned) ? undefined : await returned;
    // A web endpoint that owns its response returns one: its body is read here, whole.
    const encoded = value instanceof Response ? await encodeResponse(value) : encodeValue(value, `the return value of ${functionName}`);
    try {
      send({ type: "done", callId, ok: true, value: encoded });
    } catch (error) {
      throw new UncarriableValueError(`the return value of ${functionName} could not be sent back (${(error as Error)?.message}); return smaller or less deeply nested values`);
    }
  } catch (error) {
    send({ type: "done", callId, ok: false, error: toWireError(error) });
  }
}

async function shutdown(): Promise<void> {
  const cls = registry().findClass(config.className);
  for (const hook of cls ? getHooks(cls).exit : []) {
    try {
      await (instance?.[hook] as () => unknown)?.call(instance);
    } catch (error) {
      process.stderr.write(`stubrun: exit hook ${config.className}.${hook} failed: ${(error as Error)?.stack ?? error}\n`);
    }
  }
  await lastSend; // the exit hooks' output must reach the server before the process ends
  process.exit(0);
}

/** Functions may call other functions of their app; the connection is opened on first use. */
function connectNestedCalls(): void {
  const url = process.env.STUBRUN_SERVER_URL;
  const appId = process.env.STUBRUN_APP_ID;
  if (!url || !appId) return;
  let session: Promise<AppSession> | undefined;
  // STUBRUN_TOKEN is the app's own credential: it lets these calls in, and nothing else.
  setSessionProvider(() => (session ??= ServerConnection.open(url, { credential: clientToken(url) }).then((connection) => ({ connection, appId }))));
}

process.on("message", (raw: ToWorkerMessage) => {
  if (raw?.type === "run" && instance && running < maxCalls) {
    running++;
    const args = Array.isArray(raw.args) ? raw.args : [];
    void calls.run(raw.callId, () => run(raw.callId, args)).finally(() => running--);
  } else if (raw?.type === "shutdown") {
    void shutdown();
  }
});
// The server is gone: so is this worker, with what it started (it leads its own process group).
process.on("disconnect", () => {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    // not a group leader (started by something else than the server): just leave
  }
  process.exit(0);
});

start().then(
  () => send({ type: "ready" }),
  (error) => {
    send({ type: "start-failed", error: toWireError(error) });
    void lastSend.then(() => process.exit(1));
  },
);
