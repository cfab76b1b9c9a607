import { DEFAULT_ENV, HEARTBEAT_TIMEOUT_MS, UsageError } from "@stubrun/protocol";
import path from "node:path";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { AppManager } from "./apps/app-manager";
import { BlobStore } from "./code/blob.store";
import { CodeStore } from "./code/code.store";
import type { Dispatcher } from "./dispatcher/dispatcher";
import { LocalDispatcher } from "./dispatcher/local-dispatcher";
import type { QueueDispatcher } from "./dispatcher/queue-dispatcher";
import { PrestartedWorkers } from "./dispatcher/worker-pool-prestart";
import { redisConnection } from "./dispatcher/redis-url";
import { NodeHub } from "./transport/node-hub";
import { Access } from "./http/access";
import { AppTokens } from "./http/app-tokens";
import { ensureLocalToken } from "./local-token";
import { AppScope, FULL_ACCESS } from "./transport/client-scope";
import { AppSummaries } from "./http/app-summary";
import { handleHttp } from "./http/http-routes";
import { createHttpServer } from "./http/http-server";
import { WebEndpoints } from "./http/web-endpoints";
import { AppsRepository } from "./state/apps.repository";
import { CallsRepository } from "./state/calls.repository";
import { LogsRepository } from "./state/logs.repository";
import { VersionsRepository } from "./state/versions.repository";
import { SecretsRepository } from "./state/secrets.repository";
import { Deployer } from "./apps/deployer";
import { AppResolver } from "./apps/app-resolver";
import { AppUploads } from "./apps/app-uploads";
import { CallRecorder } from "./apps/call-recorder";
import { AppReloader } from "./apps/app-reloader";
import { WorkerOutputRelay } from "./apps/worker-output-relay";
import { QueueScheduler } from "./schedules/queue-scheduler";
import { Scheduler } from "./schedules/scheduler";
import { openDatabase } from "./state/database";
import { ClientConnection, type ClientConnectionOptions, type ClientServices } from "./transport/client-connection";
import { HeartbeatReaper } from "./transport/heartbeat-reaper";
import { loadLimits, type ServerLimits } from "./config/limits";
import { Retention } from "./state/retention";
import { AppDeleter } from "./apps/app-deleter";
import { ImageBuilder } from "./images/image-builder";
import { ImageStore } from "./images/image-store";
import { SharedObjects } from "./objects/shared-objects";
import { sandboxModeFromEnv, WorkerSandbox, type SandboxMode } from "./sandbox/worker-sandbox";
import { ResourceCgroups } from "./sandbox/memory-cgroup";
import { lateAfter, REDIS_CLOSE_MS } from "./dispatcher/late-after";
import { LateMounts } from "./sandbox/late-mounts";
import { SandboxesAhead } from "./sandbox/sandboxes-ahead";
import { isLoopbackHost } from "./http/access";

export interface ServerOptions {
  /** `$STUBRUN_HOME`: the database, uploaded code and logs. */
  home: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /**
   * A full-access token clients may send besides the local one in `$STUBRUN_HOME/token`;
   * required when `host` is not loopback. @default process.env.STUBRUN_TOKEN
   */
  token?: string;
  /** Limits over those of `$STUBRUN_HOME/config.json` (tests use it). */
  limits?: Partial<ServerLimits>;
  /**
   * `redis://HOST:PORT`: run every call through BullMQ queues on this Redis, taken by
   * `stubrun worker` nodes, instead of the local pool. @default none (the local pool)
   */
  queue?: string;
  /** Where the server's log lines go. @default stderr */
  log?: (line: string) => void;
  /** Whether its workers run sandboxed. @default STUBRUN_SANDBOX, else "auto" */
  sandbox?: SandboxMode;
  /**
   * Listen beyond loopback although workers are not sandboxed (any function could then read the
   * server's token). @default STUBRUN_INSECURE_WORKERS === "1"
   */
  insecureWorkers?: boolean;
}

/** A running control plane. */
export interface RunningServer {
  url: string;
  port: number;
  /** The limits in force. */
  limits: ServerLimits;
  /** The local token (`$STUBRUN_HOME/token`): clients on this machine send it. */
  token: string;
  close(): Promise<void>;
}

/** Starts the control plane: HTTP and WebSocket on one port, state in SQLite under `home`. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const limits = loadLimits(options.home, options.limits);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const host = options.host ?? "127.0.0.1";
  // Which isolation the workers get, said once; a server others can reach needs it (or says it goes without).
  const { sandbox, notice, whyNot } = WorkerSandbox.choose(options.sandbox ?? sandboxModeFromEnv());
  if (options.queue === undefined) {
    if (!sandbox && !isLoopbackHost(host) && !(options.insecureWorkers ?? process.env.STUBRUN_INSECURE_WORKERS === "1")) {
      throw new UsageError(
        `the server would listen on ${host}, beyond this machine, with workers that are not sandboxed (${whyNot}), so any function could read the server's token and state: make the sandbox work, or accept that with --insecure-workers`,
      );
    }
    log(`stubrun server: ${notice}`);
  }
  // Sandboxes started ahead need a mount namespace of ours to mount their code into later (late-mounts.ts).
  const lateMounts = sandbox && options.queue === undefined && limits.prestartedWorkers > 0 ? await LateMounts.start(path.join(options.home, "sandboxes-ahead")) : undefined;
  if (lateMounts?.whyNot) log(`stubrun server: no sandboxed workers are started ahead (${lateMounts.whyNot}): each cold start pays for Node's start`);
  // How the memory and cpu options are enforced here, said once (nodes say their own).
  const resources = options.queue === undefined ? ResourceCgroups.detect() : undefined;
  if (resources) log(`stubrun server: ${resources.notice}`);

  // State: the database and what a server killed mid-way left in it.
  const db = openDatabase(options.home);
  const appsRepo = new AppsRepository(db);
  const callsRepo = new CallsRepository(db);
  const logsRepo = new LogsRepository(db, limits);
  const versionsRepo = new VersionsRepository(db);
  const secretsRepo = new SecretsRepository(db);
  const now = Date.now();
  appsRepo.stopOrphans(now);
  callsRepo.failOrphans(now);
  const codeStore = new CodeStore(path.join(options.home, "code"));
  codeStore.removeLeftoverStaging(); // a server killed mid-upload left them; this one holds the home's lock
  const imageStore = new ImageStore(path.join(options.home, "images"));
  imageStore.removeUnfinished(); // the same for image builds
  const imageBuilder = new ImageBuilder(imageStore, limits);

  // Who may ask what.
  const localToken = ensureLocalToken(options.home);
  const appTokens = new AppTokens();
  const access = Access.forHost(host, options.token ?? process.env.STUBRUN_TOKEN, localToken, appTokens);

  // Apps and their calls. Workers call back at the server's address, known once it listens.
  let workerUrl = "";
  const recorder = new CallRecorder(callsRepo, logsRepo, limits.maxKeptResultBytes);
  const workerOutput = new WorkerOutputRelay();
  // With --queue, calls go through BullMQ to worker nodes; otherwise to the local pool.
  const nodes = options.queue !== undefined ? new NodeHub(log) : undefined;
  // Workers started ahead, with no app's code or environment yet, for cold starts without Node's own start.
  let prestarted: PrestartedWorkers | undefined;
  const prestart = () => {
    if (limits.prestartedWorkers === 0) return {};
    const ahead = sandbox && lateMounts?.mounts ? new SandboxesAhead(sandbox, lateMounts.mounts, [codeStore.directory, imageStore.directory]) : undefined;
    prestarted = new PrestartedWorkers(limits.prestartedWorkers, () => limits.workerMemoryMb, prestartedWorkerEnv(), ahead);
    return { startWorker: prestarted.factory() };
  };
  const localDispatcher = () => new LocalDispatcher(
    // Secrets are read at each worker start: one replaced with --force is what the next worker sees.
    (appId, fn) => {
      const image = imageStore.forWorker(fn.options.image);
      if (image.dir !== undefined && !imageStore.isBuilt(path.basename(image.dir))) throw new Error(`its image ${path.basename(image.dir).slice(0, 12)} is not built on this server; run or deploy the app again to build it`);
      // The app's environment: its named secrets are that environment's, and so are its functions' Dicts and lookups.
      const appEnv = appsRepo.get(appId)?.env ?? DEFAULT_ENV;
      return withImageAndSecrets(workerEnv(workerUrl, appId, appTokens.forApp(appId), process.env, appEnv), image.dir, image.env, secretsRepo.envOf(fn.options.secrets ?? [], appEnv));
    },
    (appId, functionName, stream, data) => workerOutput.workerOutput(appId, functionName, stream, data),
    {
      limits,
      note: (appId, line) => recorder.note(appId, line),
      imageDirOf: (fn) => imageStore.forWorker(fn.options.image).dir,
      // A sandboxed server starts workers ahead only where it can mount their code later (late-mounts.ts).
      ...(sandbox ? { sandbox } : {}),
      ...(!sandbox || lateMounts?.mounts ? prestart() : {}),
      ...(resources?.cgroups ? { cgroups: resources.cgroups } : {}),
    },
  );
  const dispatcher: Dispatcher =
    options.queue !== undefined && nodes !== undefined
      ? // Required only with --queue: BullMQ and its Redis client are ~28 MB of an idle server otherwise.
        new (require("./dispatcher/queue-dispatcher") as { QueueDispatcher: typeof QueueDispatcher }).QueueDispatcher({
          connection: redisConnection(options.queue),
          nodes,
          // Read when a node starts a worker for a call: sent on its socket, never through Redis.
          workerEnv: (appId, fn) => {
            const env = appsRepo.get(appId)?.env ?? DEFAULT_ENV;
            return { appToken: appTokens.forApp(appId), secrets: secretsRepo.envOf(fn.options.secrets ?? [], env), env };
          },
          workerOutput: (appId, functionName, stream, data) => workerOutput.workerOutput(appId, functionName, stream, data),
          log,
          limits,
          note: (appId, line) => recorder.note(appId, line),
        })
      : localDispatcher();
  const blobs = new BlobStore(path.join(options.home, "blobs"));
  blobs.removeLeftoverStaging();
  const uploads = new AppUploads(codeStore, limits, secretsRepo, imageStore, blobs);
  const manager = new AppManager(appsRepo, versionsRepo, uploads, recorder, dispatcher, limits);
  workerOutput.attach(manager);
  const resolver = new AppResolver(appsRepo);
  const deployer = new Deployer(db, appsRepo, versionsRepo, resolver, uploads, manager);
  const reloader = new AppReloader(appsRepo, uploads, manager);
  // With --queue, schedules are BullMQ job schedulers in Redis; otherwise timers of this server.
  const scheduler =
    options.queue !== undefined
      ? new QueueScheduler(manager, versionsRepo, redisConnection(options.queue), (appId, line) => recorder.note(appId, line), log)
      : new Scheduler(manager, versionsRepo, (appId, line) => recorder.note(appId, line));
  manager.listen(scheduler);
  // A stopped app's workers lose their credential with it.
  manager.listen({ appChanged: () => undefined, appStopped: (appId) => appTokens.drop(appId) });
  // Dicts and Queues; an app's ephemeral ones go with it.
  const objects = new SharedObjects(db, limits, (appId) => manager.isRunning(appId), (hash) => blobs.has(hash));
  manager.listen({ appChanged: () => undefined, appStopped: (appId) => objects.removeAppObjects(appId) });

  // HTTP and WebSocket on one port.
  const web = new WebEndpoints(resolver, manager, limits);
  const summaries = new AppSummaries(appsRepo, manager);
  // Retention removes what expires (started once the apps are restored, below); `app delete` removes an app now.
  const retention = new Retention(db, codeStore.directory, limits.retentionDays, (line) => process.stderr.write(`stubrun server: ${line}\n`), Date.now, limits.callResultRetentionHours);
  const deleter = new AppDeleter(resolver, manager, retention);
  const httpContext = { objects, summaries, resolver, manager, scheduler, logs: logsRepo, deployer, deleter, access, calls: callsRepo, web, secrets: secretsRepo, blobs, code: codeStore, nodes, limits };
  const httpServer = createHttpServer(limits, (req, res) => handleHttp(req, res, httpContext));
  // ws closes a connection whose message passes maxPayload (1009) before buffering more of it.
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes, perMessageDeflate: false });
  const clients = new Map<WebSocket, ClientConnection>();
  const services: ClientServices = { manager, deployer, reloader, resolver, images: imageBuilder, objects };
  const clientOptions: ClientConnectionOptions = { limits, log };

  // No listener may throw (DESIGN §5): a bad request is answered, never let through to crash the process.
  httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {}); // a peer that resets mid-handshake
    try {
      const pathname = pathnameOf(req.url);
      if (pathname === undefined) return refuseUpgrade(socket, 400, "Bad Request", "the request's URL cannot be read");
      if (pathname === "/nodes") return upgradeNode(req, socket, head);
      if (pathname !== "/ws") return refuseUpgrade(socket, 404, "Not Found", `no WebSocket at ${pathname}; clients connect to /ws`);
      const decision = access.check(req, "ws");
      if (!decision.ok) return refuseUpgrade(socket, decision.status, decision.status === 401 ? "Unauthorized" : "Forbidden", decision.error);
      const { credential } = decision;
      const scope =
        credential.kind === "app"
          ? new AppScope(credential.appId, {
              appIdOf: (ref, env) => resolver.resolve(ref, env)?.id,
              envOfApp: (appId) => appsRepo.get(appId)?.env,
              appOfCall: (callId) => manager.appOfCall(callId),
            })
          : FULL_ACCESS;
      wss.handleUpgrade(req, socket, head, (ws) => {
        try {
          const client = new ClientConnection(ws, services, clientOptions, scope);
          clients.set(ws, client);
          ws.on("error", () => {}); // "close" follows.
          ws.on("close", () => {
            clients.delete(ws);
            objects.release(client);
            void manager.ownerGone(client).catch(() => undefined);
          });
        } catch {
          ws.terminate();
        }
      });
    } catch {
      socket.destroy();
    }
  });

  // Worker nodes (`stubrun worker`) connect on /nodes with the full token, to a server with --queue.
  const upgradeNode = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (nodes === undefined) return refuseUpgrade(socket, 404, "Not Found", "this server runs calls on its own workers; start it with --queue redis://HOST:PORT to take worker nodes");
    const decision = access.check(req, "ws");
    if (!decision.ok) return refuseUpgrade(socket, decision.status, decision.status === 401 ? "Unauthorized" : "Forbidden", decision.error);
    if (decision.credential.kind !== "full") return refuseUpgrade(socket, 403, "Forbidden", "a worker node needs the server's full token (STUBRUN_TOKEN), not an app's");
    wss.handleUpgrade(req, socket, head, (ws) => {
      // A node's socket is not a client's: it does not take one of limits.maxConnections while it lives.
      httpServer.maxConnections++;
      ws.once("close", () => httpServer.maxConnections--);
      nodes.accept(ws);
    });
  };

  // A client that stops heartbeating is given up, so its ephemeral apps stop.
  const reaper = new HeartbeatReaper(clients, {
    timeoutMs: HEARTBEAT_TIMEOUT_MS,
    onStall: (ms) => log(`stubrun server: the event loop stalled for ${ms} ms; no client is judged silent for that time`),
  }).start();

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port, host, () => resolve());
  });
  const port = (httpServer.address() as { port: number }).port;
  access.listening(port);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  // Workers call back at the server's own address (with their app's credential); a server on
  // every address is reached on loopback, since 0.0.0.0 is not an address to connect to.
  workerUrl = host === "0.0.0.0" || host === "::" ? `http://127.0.0.1:${port}` : url;

  // Deployed apps outlive the server: serve them again (their schedules restart from now). One
  // that cannot be served is marked failed, with why in its logs; the others are served. This
  // runs once the URL is known, since keepWarm workers start now and call back at it; no request
  // is read before it finishes (it runs in the same turn as the listen callback).
  for (const record of appsRepo.listDeployed()) manager.restore(record);
  objects.removeOrphans();
  if (scheduler instanceof QueueScheduler) scheduler.start();
  retention.start();

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    limits,
    token: localToken,
    close: () =>
      (closing ??= (async () => {
        reaper.stop();
        for (const ws of clients.keys()) ws.terminate();
        // In queue mode these wait on Redis: bounded, so a server whose Redis went away still stops.
        const redisLate = (await lateAfter(scheduler.close(), REDIS_CLOSE_MS)) && options.queue !== undefined;
        objects.close();
        await imageBuilder.close();
        await retention.close();
        await manager.shutdown();
        if ((await lateAfter(dispatcher.close(), REDIS_CLOSE_MS)) || redisLate) log(`stubrun server: Redis did not answer within ${REDIS_CLOSE_MS / 1000} s; stopping without it`);
        prestarted?.close();
        lateMounts?.mounts?.close();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        callsRepo.flush();
        logsRepo.flush();
        db.close();
      })()),
  };
}

/** The environment variables of the server that workers keep (SPEC §2: "the basics"). */
const WORKER_BASICS = ["PATH", "HOME", "LANG", "TZ"] as const;

/** What a secret cannot override in a worker (docs/secrets.md). */
const SET_BY_STUBRUN = new Set<string>([...WORKER_BASICS, "STUBRUN_SERVER_URL", "STUBRUN_APP_ID", "STUBRUN_TOKEN", "STUBRUN_ENV", "STUBRUN_IMAGE_DIR"]);

/**
 * A worker's whole environment (SPEC §2): the basics, where to call back, its app, and a
 * credential for that app alone. Nothing else of the server's environment, nor of the client
 * that started the daemon, reaches a function; secrets and image variables are added by the
 * code that knows them.
 */
export function workerEnv(serverUrl: string, appId: string, appToken: string, from: NodeJS.ProcessEnv = process.env, appEnv = DEFAULT_ENV): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of WORKER_BASICS) if (from[key] !== undefined) env[key] = from[key];
  return { ...env, STUBRUN_SERVER_URL: serverUrl, STUBRUN_APP_ID: appId, STUBRUN_TOKEN: appToken, STUBRUN_ENV: appEnv };
}

/** The environment workers started ahead have: the basics every worker has, nothing of stubrun's or of an app (worker-pool-prestart.ts). */
export function prestartedWorkerEnv(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const basics = workerEnv("", "", "", from);
  for (const key of Object.keys(basics)) if (key.startsWith("STUBRUN_")) delete basics[key];
  return basics;
}

/**
 * A worker's environment in layers, later ones winning: the basics, the image's variables (with
 * its `node_modules/.bin` first on PATH, and `STUBRUN_IMAGE_DIR`), then the function's secrets,
 * which override neither the basics nor stubrun's own variables (docs/secrets.md); stubrun's
 * (where to call back, the app, its credential) nothing overrides.
 */
export function withImageAndSecrets(
  base: NodeJS.ProcessEnv,
  imageDir: string | undefined,
  imageEnv: Record<string, string>,
  secrets: Record<string, string>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...imageEnv };
  if (imageDir !== undefined) {
    env.PATH = [path.join(imageDir, "node_modules", ".bin"), env.PATH].filter(Boolean).join(path.delimiter);
    env.STUBRUN_IMAGE_DIR = imageDir;
  }
  for (const [key, value] of Object.entries(secrets)) if (!SET_BY_STUBRUN.has(key)) env[key] = value;
  for (const key of ["STUBRUN_SERVER_URL", "STUBRUN_APP_ID", "STUBRUN_TOKEN", "STUBRUN_ENV"]) if (base[key] !== undefined) env[key] = base[key];
  return env;
}

/** The path of a request's URL, or undefined when it cannot be read (`//%`). */
function pathnameOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? "/", "http://x").pathname;
  } catch {
    return undefined;
  }
}

/** Answers a WebSocket handshake with an HTTP error that says why, and closes the socket. */
function refuseUpgrade(socket: Duplex, status: number, reason: string, error: string): void {
  const body = JSON.stringify({ error });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
