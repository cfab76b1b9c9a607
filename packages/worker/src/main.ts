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
  IpcBatcher,
  ipcMessages,
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

/** The function this worker serves: from STUBRUN_WORKER_CONFIG, or a `load` message for a worker started ahead. */
let config = {} as WorkerConfig;
let loaded = false;
let functionName = "";
/** Calls it runs at once: 1, or its function's `concurrentInputs`. */
let maxCalls = 1;
/** Which call is running, for its output (an AsyncLocalStorage only above one call at a time). */
let calls = callContext(1);
let instance: Record<string, unknown> | undefined;

/** Resolves once the last message sent has been handed to the IPC channel. */
let lastSend: Promise<void> = Promise.resolve();

/** A turn's messages (output, results) go to the server in one write. */
const outbox = new IpcBatcher<FromWorkerMessage>(
  (payload) => {
    if (!process.connected || !process.send) return;
    let markSent!: () => void;
    const sent = new Promise<void>((resolve) => (markSent = resolve));
    process.send(payload, undefined, {}, () => markSent());
    lastSend = sent;
  },
  (message, error) => {
    // A value nested too deep for JSON: its call fails with why (a later result of that call is ignored).
    if (message.type !== "done" && message.type !== "yield") return;
    const what = message.type === "done" ? "the return value" : "a value it yielded";
    const refused = new UncarriableValueError(`${what} of ${functionName} could not be sent back (${error.message}); return smaller or less deeply nested values`);
    outbox.push({ type: "done", callId: message.callId, ok: false, error: toWireError(refused) });
  },
);

// A function that calls process.exit (or dies of an uncaught error) leaves no later turn: what it
// sent before goes now, as Node's own send would have written it at once.
process.on("exit", () => outbox.flush());

/** Sends a message to the server with the rest of this turn's; a closed channel is ignored. */
function send(message: FromWorkerMessage): void {
  outbox.push(message);
}

/** Writes what is queued and resolves once the channel took it. */
function flushed(): Promise<void> {
  outbox.flush();
  return lastSend;
}

/** Loads the function's code and says whether it could; once. */
function begin(given: WorkerConfig): void {
  config = given;
  loaded = true;
  functionName = `${config.className}.${config.methodName}`;
  maxCalls = config.concurrentInputs ?? 1;
  calls = callContext(maxCalls);
  start().then(
    () => send({ type: "ready" }),
    (error) => {
      send({ type: "start-failed", error: toWireError(error) });
      void flushed().then(() => process.exit(1));
    },
  );
}

/**
 * A worker started ahead becomes this function's: its environment is the function's from here
 * on (secrets included, before any of its code runs), and it runs at the root of the code.
 */
function load(given: WorkerConfig, env: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
  try {
    process.chdir(given.codeDir);
  } catch {
    // its code folder is gone: loading the code fails below, and says so
  }
  begin(given);
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
  const began = performance.now();
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
    const encoded = isResponse(value) ? await encodeResponse(value) : encodeValue(value, `the return value of ${functionName}`);
    send({ type: "done", callId, ok: true, value: encoded, ms: performance.now() - began });
  } catch (error) {
    send({ type: "done", callId, ok: false, error: toWireError(error), ms: performance.now() - began });
  }
}

/**
 * Whether a return value is a fetch Response. Its tag is read first: Node loads fetch's classes
 * (undici, ~15 ms) the first time the `Response` global is touched, which `instanceof` would do
 * on the first call of every worker.
 */
function isResponse(value: unknown): value is Response {
  return typeof value === "object" && value !== null && Object.prototype.toString.call(value) === "[object Response]" && value instanceof Response;
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
  await flushed(); // the exit hooks' output must reach the server before the process ends
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

/**
 * Calls sent and not begun: sent ahead of time (prefetch, for a function of one call at a time)
 * or past its free slots. They begin in the order they came, up to `maxCalls` at once.
 */
const waiting: { callId: string; args: Encoded[] }[] = [];
let running = 0;

function runWaiting(): void {
  while (running < maxCalls && waiting.length > 0) {
    const next = waiting.shift() as { callId: string; args: Encoded[] };
    running++;
    void calls.run(next.callId, () => run(next.callId, next.args)).finally(() => {
      running--;
      runWaiting();
    });
  }
}

process.on("message", (payload: unknown) => {
  for (const raw of ipcMessages(payload) as ToWorkerMessage[]) {
    if (raw?.type === "load" && !loaded && raw.config && raw.env) {
      load(raw.config, raw.env);
    } else if (raw?.type === "run" && instance) {
      waiting.push({ callId: raw.callId, args: Array.isArray(raw.args) ? raw.args : [] });
      runWaiting();
    } else if (raw?.type === "drop") {
      const at = waiting.findIndex((w) => w.callId === raw.callId);
      if (at >= 0) waiting.splice(at, 1);
    } else if (raw?.type === "shutdown") {
      void shutdown();
    }
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

// Forked for a function: its code loads now. Otherwise this worker was started ahead, and waits for `load`.
const initial = process.env.STUBRUN_WORKER_CONFIG;
delete process.env.STUBRUN_WORKER_CONFIG; // the function sees SPEC §2's environment, not the worker's plumbing
if (initial !== undefined) begin(JSON.parse(initial) as WorkerConfig);
