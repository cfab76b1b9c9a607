import { DEFAULT_ENV, envNameProblem, RequestRefusedError, UsageError } from "@stubrun/protocol";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppManager } from "../apps/app-manager";
import type { Deployer } from "../apps/deployer";
import type { AppDeleter } from "../apps/app-deleter";
import type { ServerLimits } from "../config/limits";
import type { CallsRepository } from "../state/calls.repository";
import type { Access } from "./access";
import { renderAppsPage, renderMissingAppPage } from "./apps-page";
import { renderAppPage } from "./app-page";
import { renderCallPage, renderMissingCallPage } from "./call-page";
import { callInfo } from "./call-info";
import { callDisplay } from "./call-display";
import { callFigures } from "./call-figures";
import { CALL_STATES, type CallState } from "../state/calls.repository";
import type { Scheduler } from "../schedules/scheduler";
import type { WebEndpoints } from "./web-endpoints";
import { refusedHttp } from "./http-guard";
import type { AppRecord } from "../state/apps.repository";
import type { LogsRepository } from "../state/logs.repository";
import { unknownApp, type AppResolver } from "../apps/app-resolver";
import type { AppSummaries } from "./app-summary";
import { followLogs, omittedReason } from "./log-follower";
import { handleSecrets } from "./secrets-routes";
import { handleBlobs } from "./blobs-routes";
import { handleVolumes } from "./volumes-routes";
import { handleCode } from "./code-routes";
import { handleCalls } from "./calls-routes";
import { handleObjects } from "./objects-routes";
import type { SharedObjects } from "../objects/shared-objects";
import type { CodeStore } from "../code/code.store";
import { json } from "./http-json";
import type { BlobStore } from "../code/blob.store";
import type { SecretsRepository } from "../state/secrets.repository";

import type { NodeHub } from "../transport/node-hub";
import type { NodesSummary } from "@stubrun/protocol";
export interface HttpContext {
  summaries: AppSummaries;
  resolver: AppResolver;
  manager: AppManager;
  logs: LogsRepository;
  deployer: Deployer;
  deleter: AppDeleter;
  access: Access;
  calls: CallsRepository;
  web: WebEndpoints;
  secrets: SecretsRepository;
  blobs: BlobStore;
  code: CodeStore;
  /** When scheduled functions run next, for the app's page. */
  scheduler?: Pick<Scheduler, "nextRun">;
  /** Dicts and Queues. */
  objects: SharedObjects;
  /** Worker nodes connected to a server started with `--queue`; none otherwise. */
  nodes?: NodeHub;
  limits: Pick<ServerLimits, "callResultRetentionHours" | "maxLogBytesPerRequest" | "maxBufferedBytesPerClient" | "requestTimeoutMs" | "maxBodyBytes" | "maxBlobBytes" | "maxBlobEntries">;
}

/**
 * The HTTP side of the server: health for clients and the daemon; the apps API that the `app`
 * commands use (`/api/apps`, `/api/apps/APP`, `/api/apps/APP/stop`, `/api/apps/APP/logs`).
 * APP is an app id or a name.
 */
export function handleHttp(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): void | Promise<void> {
  const url = requestUrl(req);
  if (!url) return json(res, 400, { error: `the request path ${JSON.stringify(req.url)} is not a valid URL path` });
  const parts = url.pathname.split("/").filter(Boolean).map(safeDecode);
  // /web/APP/FN is in environment "main"; /web/ENV/APP/FN in another.
  if (parts[0] === "web" && parts.length === 3) return ctx.web.handle(req, res, url, parts[1], parts[2], DEFAULT_ENV);
  if (parts[0] === "web" && parts.length === 4) return ctx.web.handle(req, res, url, parts[2], parts[3], parts[1]);
  if (refusedHttp(req, res, ctx.access, parts)) return; // Host, Origin and credential: see access.ts
  // ?env=NAME: the environment of the apps, secrets, Dicts and Queues a request names ("main" without).
  const env = url.searchParams.get("env") ?? DEFAULT_ENV;
  const envProblem = envNameProblem(env);
  if (envProblem) return json(res, 400, { error: envProblem });
  if (parts[0] === "api" && parts[1] === "secrets") return handleSecrets(req, res, parts, ctx.secrets, ctx.limits.maxBodyBytes, env);
  if (parts[0] === "api" && parts[1] === "blobs") {
    // A worker's credential reads only blobs that are a Volume's head (what reload needs): not another app's packages.
    const decision = ctx.access.check(req, "blobs");
    const appReads = decision.ok && decision.credential.kind === "app" && req.method === "GET";
    if (appReads && parts.length === 3 && !ctx.objects.volumes.isHead(parts[2])) {
      return json(res, 403, { error: `a worker's credential may read a Volume's content only, and blob ${parts[2]} is no Volume's head: reload the Volume to read its last version` });
    }
    return handleBlobs(req, res, parts, ctx.blobs, ctx.limits);
  }
  if (parts[0] === "api" && parts[1] === "code") return handleCode(req, res, parts, ctx.code);
  if (parts[0] === "api" && parts[1] === "calls") return handleCalls(req, res, url, parts, ctx);
  if (parts[0] === "api" && (parts[1] === "dicts" || parts[1] === "queues")) return handleObjects(req, res, parts, url, ctx.objects, env);
  if (parts[0] === "api" && parts[1] === "volumes") return handleVolumes(req, res, parts, ctx.objects, ctx.blobs, env, ctx.limits.maxBodyBytes);
  // The APP part of /api/apps/APP/... and /apps/APP becomes ":app".
  const appAt = parts[0] === "api" && parts[1] === "apps" ? 2 : parts[0] === "apps" ? 1 : -1;
  const route = `${req.method} /${parts.map((p, i) => (i === appAt ? ":app" : p)).join("/")}`;
  if (req.method === "GET" && parts[0] === "apps" && parts[2] === "calls" && parts.length === 4) return callPage(res, ctx, parts[1], parts[3], env);
  switch (route) {
    case "GET /apps":
      return html(res, 200, renderAppsPage(ctx.summaries.list(), nodesSummary(ctx)));
    case "GET /apps/:app":
      // A deleted app's page says so (an HTML page, not the API's JSON).
      if (!ctx.resolver.resolve(parts[1], env)) return html(res, 404, renderMissingAppPage(parts[1]));
      return withApp(res, ctx, parts[1], env, (app) => {
        const webBase = `http://${req.headers.host ?? "localhost"}${webPath(app)}`;
        const summary = ctx.summaries.of(app);
        const nextRuns = new Map<string, number>();
        for (const f of app.manifest.functions) {
          const at = ctx.scheduler?.nextRun(app, f.name);
          if (at !== undefined) nextRuns.set(f.name, at);
        }
        const versions = ctx.deployer.history(app.id).versions.map((v) => ({ version: v.version, createdAt: new Date(v.createdAt).toISOString(), changes: v.changes }));
        html(res, 200, renderAppPage({ app: summary, functions: app.manifest.functions, calls: ctx.calls.recent(app.id), webBase, nextRuns, workers: ctx.manager.workersOf(app.id), versions }));
      });
    case "GET /api/apps/:app/calls":
      return withApp(res, ctx, parts[2], env, (app) => {
        const state = url.searchParams.get("state") || undefined;
        if (state !== undefined && !CALL_STATES.includes(state as CallState)) return json(res, 400, { error: `state must be one of ${CALL_STATES.join(", ")}, got "${state}"` });
        const limit = Math.min(Math.max(Number(url.searchParams.get("limit") ?? 50) || 50, 1), 1000);
        json(res, 200, ctx.calls.recent(app.id, limit, { functionName: url.searchParams.get("function") || undefined, state: state as CallState | undefined }));
      });
    case "GET /api/apps/:app/figures":
      return withApp(res, ctx, parts[2], env, (app) => {
        const now = Date.now();
        json(res, 200, callFigures(app.manifest.functions.map((f) => f.name), ctx.calls.endedSince(app.id, now - 3_600_000), now));
      });
    case "GET /api/apps/:app/workers":
      return withApp(res, ctx, parts[2], env, (app) => json(res, 200, ctx.manager.workersOf(app.id) ?? []));
    case "GET /api/nodes":
      return json(res, 200, nodesSummary(ctx));
    case "GET /health":
      return json(res, 200, { ok: true, service: "stubrun", pid: process.pid });
    case "GET /api/apps":
      // Every environment's apps unless one is asked for (`app list` always asks).
      return json(res, 200, ctx.summaries.list(url.searchParams.has("env") ? env : undefined));
    case "GET /api/apps/:app":
      return withApp(res, ctx, parts[2], env, (app) => json(res, 200, ctx.summaries.of(app)));
    case "DELETE /api/apps/:app":
      return ctx.deleter.delete(parts[2], env).then(
        (deleted) => json(res, 200, { ...deleted, deleted: true }),
        (error: Error) => json(res, error instanceof UsageError ? 404 : 500, { error: error.message }),
      );
    case "POST /api/apps/:app/stop":
      return withApp(res, ctx, parts[2], env, (app) => {
        ctx.manager.stop(app.id).then(
          (stopped) => json(res, 200, { id: app.id, stopped }),
          (error: Error) => json(res, 500, { error: error.message }),
        );
      });
    case "GET /api/apps/:app/history":
      return refusalsAs404(res, () => {
        const { app, versions } = ctx.deployer.history(parts[2], env);
        json(res, 200, {
          app: ctx.summaries.of(app),
          versions: versions.map((v) => ({ version: v.version, createdAt: new Date(v.createdAt).toISOString(), changes: v.changes })),
        });
      });
    case "POST /api/apps/:app/rollback": {
      const version = url.searchParams.get("version");
      if (version !== null && !/^[1-9]\d*$/.test(version)) return json(res, 400, { error: `VERSION must be a whole number from 1, got "${version}"` });
      return refusalsAs404(res, () => json(res, 200, ctx.deployer.rollback(parts[2], version === null ? undefined : Number(version), env)));
    }
    case "GET /api/apps/:app/logs":
      return withApp(res, ctx, parts[2], env, (app) => {
        const limit = Math.min(Math.max(Number(url.searchParams.get("limit") ?? 200) || 200, 1), 10_000);
        if (url.searchParams.get("follow") === "1") return followLogs(req, res, { logs: ctx.logs, isLive: () => ctx.manager.isLive(app.id), limits: ctx.limits }, app.id, limit);
        const { entries, omitted } = ctx.logs.recent(app.id, limit, ctx.limits.maxLogBytesPerRequest);
        // The body stays an array (what `app logs` reads); headers say what did not fit.
        if (omitted > 0) {
          res.setHeader("x-stubrun-omitted-entries", String(omitted));
          res.setHeader("x-stubrun-omitted-reason", omittedReason(omitted, ctx.limits.maxLogBytesPerRequest));
        }
        json(res, 200, entries);
      });
    default:
      return json(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
  }
}

/** `/apps/APP/calls/ID`: the call's page, or a page saying there is no such call of that app. */
function callPage(res: ServerResponse, ctx: HttpContext, appRef: string, callId: string, env: string): void {
  const app = ctx.resolver.resolve(appRef, env);
  if (!app) return html(res, 404, renderMissingAppPage(appRef));
  const call = ctx.calls.get(callId);
  if (!call || call.appId !== app.id) return html(res, 404, renderMissingCallPage(appRef, callId));
  const info = callInfo(call, ctx.limits.callResultRetentionHours);
  html(res, 200, renderCallPage(ctx.summaries.of(app), info, callDisplay(info)));
}

function withApp(res: ServerResponse, ctx: HttpContext, ref: string, env: string, then: (app: AppRecord) => void): void {
  const app = ctx.resolver.resolve(ref, env);
  if (!app) return json(res, 404, { error: unknownApp(ref, env) });
  then(app);
}

/** Where an app's web endpoints are: `/web/APP` (its name if deployed), under `/web/ENV` outside "main". */
export function webPath(app: Pick<AppRecord, "id" | "name" | "state" | "env">): string {
  const ref = encodeURIComponent(app.state === "deployed" && app.name ? app.name : app.id);
  return app.env === DEFAULT_ENV ? `/web/${ref}` : `/web/${encodeURIComponent(app.env)}/${ref}`;
}

/** Runs a handler whose refusals (unknown app, no such version) answer 404 with their message. */
function refusalsAs404(res: ServerResponse, handler: () => void): void {
  try {
    handler();
  } catch (error) {
    if (!(error instanceof RequestRefusedError)) throw error; // answered 500, without its stack, by the server's guard
    json(res, 404, { error: error.message });
  }
}

/** The request's URL, or undefined when its target is not one. */
function requestUrl(req: IncomingMessage): URL | undefined {
  const target = req.url ?? "/";
  try {
    // A path is a path: resolved against a base, "//%" would be read as a host (and throw).
    return new URL(target.startsWith("/") ? `http://localhost${target}` : target);
  } catch {
    return undefined;
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(body);
}


/** The worker nodes, for `GET /api/nodes` and the apps page. */
function nodesSummary(ctx: HttpContext): NodesSummary {
  return { queue: ctx.nodes !== undefined, nodes: ctx.nodes?.list().map((n) => n.summary()) ?? [] };
}
