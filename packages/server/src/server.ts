import { HEARTBEAT_TIMEOUT_MS } from "@stubrun/protocol";
import http from "node:http";
import path from "node:path";
import { WebSocketServer, type WebSocket } from "ws";
import { AppManager } from "./apps/app-manager";
import { CodeStore } from "./code/code.store";
import { LocalDispatcher } from "./dispatcher/local-dispatcher";
import { Access } from "./http/access";
import { handleHttp } from "./http/http-routes";
import { AppsRepository } from "./state/apps.repository";
import { CallsRepository } from "./state/calls.repository";
import { LogsRepository } from "./state/logs.repository";
import { VersionsRepository } from "./state/versions.repository";
import { Deployer } from "./apps/deployer";
import { Scheduler } from "./schedules/scheduler";
import { openDatabase } from "./state/database";
import { ClientConnection, type ClientConnectionOptions } from "./transport/client-connection";
import { HeartbeatReaper } from "./transport/heartbeat-reaper";
import { loadLimits, type ServerLimits } from "./config/limits";

export interface ServerOptions {
  /** `$STUBRUN_HOME`: the database, uploaded code and logs. */
  home: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Required when `host` is not loopback: clients elsewhere must send it. @default process.env.STUBRUN_TOKEN */
  token?: string;
  /** Limits over those of `$STUBRUN_HOME/config.json` (tests use it). */
  limits?: Partial<ServerLimits>;
  /** Where the server's log lines go. @default stderr */
  log?: (line: string) => void;
}

/** A running control plane. */
export interface RunningServer {
  url: string;
  port: number;
  /** The limits in force. */
  limits: ServerLimits;
  close(): Promise<void>;
}

/** Starts the control plane: HTTP and WebSocket on one port, state in SQLite under `home`. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const limits = loadLimits(options.home, options.limits);
  const db = openDatabase(options.home);
  const appsRepo = new AppsRepository(db);
  const callsRepo = new CallsRepository(db);
  const now = Date.now();
  appsRepo.stopOrphans(now);
  callsRepo.failOrphans(now);

  const host = options.host ?? "127.0.0.1";
  const access = Access.forHost(host, options.token ?? process.env.STUBRUN_TOKEN);
  let url = "";
  let workerUrl = "";
  const logsRepo = new LogsRepository(db);
  const versionsRepo = new VersionsRepository(db);
  const dispatcher = new LocalDispatcher(
    (appId) => workerEnv(workerUrl, appId),
    (appId, functionName, stream, data) => apps.workerOutput(appId, functionName, stream, data),
  );
  const apps = new AppManager(appsRepo, callsRepo, new CodeStore(path.join(options.home, "code")), dispatcher, logsRepo, versionsRepo);
  const deployer = new Deployer(db, appsRepo, versionsRepo, apps);
  const scheduler = new Scheduler(apps, versionsRepo, (appId, line) => apps.note(appId, line));
  apps.listen(scheduler);
  // Deployed apps outlive the server: serve them again (their schedules restart from now).
  for (const record of appsRepo.listDeployed()) apps.run(record, undefined);

  const httpServer = http.createServer((req, res) => handleHttp(req, res, { apps: appsRepo, manager: apps, logs: logsRepo, deployer, access, calls: callsRepo }));
  // ws closes a connection whose message passes maxPayload (1009) before buffering more of it.
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes, perMessageDeflate: false });
  const clients = new Map<WebSocket, ClientConnection>();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clientOptions: ClientConnectionOptions = { limits, log };

  httpServer.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    if (!access.allows(req)) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = new ClientConnection(ws, apps, deployer, clientOptions);
      clients.set(ws, client);
      ws.on("error", () => {}); // "close" follows.
      ws.on("close", () => {
        clients.delete(ws);
        void apps.ownerGone(client);
      });
    });
  });

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
  url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  // Workers call back on loopback when the server listens on every address, so they need no token.
  workerUrl = host === "0.0.0.0" || host === "::" ? `http://127.0.0.1:${port}` : url;

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    limits,
    close: () =>
      (closing ??= (async () => {
        reaper.stop();
        for (const ws of clients.keys()) ws.terminate();
        scheduler.close();
        await apps.shutdown();
        await dispatcher.close();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        callsRepo.flush();
        logsRepo.flush();
        db.close();
      })()),
  };
}

/** Workers get what they need to call back into their app, and never the server's token. */
function workerEnv(serverUrl: string, appId: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STUBRUN_SERVER_URL: serverUrl, STUBRUN_APP_ID: appId };
  delete env.STUBRUN_TOKEN;
  delete env.STUBRUN_WORKER_CONFIG;
  return env;
}
