import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppManager } from "../apps/app-manager";
import type { Access } from "./access";
import type { ServerLimits } from "../config/limits";
import type { CallsRepository } from "../state/calls.repository";
import type { LogsRepository } from "../state/logs.repository";
import type { CallInfo } from "@stubrun/protocol";
import { callDisplay } from "./call-display";
import { callInfo } from "./call-info";
import { json } from "./http-json";
import { followLogs, omittedReason } from "./log-follower";

/** What the calls API needs. */
export interface CallsRouteContext {
  calls: CallsRepository;
  logs: LogsRepository;
  manager: AppManager;
  access: Access;
  limits: Pick<ServerLimits, "callResultRetentionHours" | "maxLogBytesPerRequest" | "maxBufferedBytesPerClient" | "requestTimeoutMs">;
}

/** The longest one `GET /api/calls/ID?waitMs=N` waits; a client that wants longer asks again. */
export const MAX_WAIT_MS = 25_000;

/**
 * The calls API, behind the full token, or a worker's credential for its own app's calls: `GET /api/calls/ID[?waitMs=N]` (its state, and its
 * result or error once it ended; with `waitMs`, answered when it ends or after N ms, at most
 * 25 s; with `display=1`, its values as the call's page shows them too), `POST /api/calls/ID/cancel`, `GET /api/calls/ID/logs[?follow=1]` (its own log lines;
 * server-sent events until it ends when following).
 */
export function handleCalls(req: IncomingMessage, res: ServerResponse, url: URL, parts: string[], ctx: CallsRouteContext): void {
  const id = parts[2];
  const route = `${req.method} ${parts.slice(3).join("/")}`;
  if (parts.length < 3 || parts.length > 4 || !["GET ", "POST cancel", "GET logs"].includes(route)) {
    return json(res, 404, { error: `no route for ${req.method} ${url.pathname}; the calls API is GET /api/calls/ID, POST /api/calls/ID/cancel and GET /api/calls/ID/logs` });
  }
  const call = ctx.calls.get(id);
  // A worker's credential reaches its own app's calls only; others look as if they did not exist.
  const decision = ctx.access.check(req, "calls");
  const foreign = decision.ok && decision.credential.kind === "app" && decision.credential.appId !== call?.appId;
  if (!call || foreign) return json(res, 404, { error: `no call with id ${id} on this server: check the id, or its app may have been deleted` });
  switch (route) {
    case "GET ": {
      const waitMs = Math.min(Math.max(Number(url.searchParams.get("waitMs") ?? 0) || 0, 0), MAX_WAIT_MS);
      const display = url.searchParams.get("display") === "1";
      if (call.state !== "running" || waitMs === 0) return json(res, 200, shown(callInfo(call, ctx.limits.callResultRetentionHours), display));
      return waitForEnd(res, ctx, id, waitMs, display);
    }
    case "POST cancel": {
      const cancelled = call.state === "running" && ctx.manager.cancelCall(id);
      return json(res, 200, { id, cancelled, state: cancelled ? "cancelled" : call.state });
    }
    default: {
      const limit = Math.min(Math.max(Number(url.searchParams.get("limit") ?? 1000) || 1000, 1), 10_000);
      const isLive = () => ctx.manager.appOfCall(id) !== undefined;
      if (url.searchParams.get("follow") === "1") return followLogs(req, res, { logs: ctx.logs, isLive, callId: id, limits: ctx.limits }, call.appId, limit);
      const { entries, omitted } = ctx.logs.recentOfCall(id, limit, ctx.limits.maxLogBytesPerRequest);
      if (omitted > 0) {
        res.setHeader("x-stubrun-omitted-entries", String(omitted));
        res.setHeader("x-stubrun-omitted-reason", omittedReason(omitted, ctx.limits.maxLogBytesPerRequest));
      }
      return json(res, 200, entries);
    }
  }
}

/** Answers once the call's end is written, or after `waitMs` with it still running. */
function waitForEnd(res: ServerResponse, ctx: CallsRouteContext, id: string, waitMs: number, display: boolean): void {
  let done = false;
  const answer = () => {
    if (done) return;
    done = true;
    stop();
    clearTimeout(timer);
    const call = ctx.calls.get(id);
    if (call) json(res, 200, shown(callInfo(call, ctx.limits.callResultRetentionHours), display));
    else json(res, 404, { error: `call ${id} is gone: its app was deleted` });
  };
  const stop = ctx.calls.whenEnded(id, answer);
  const timer = setTimeout(answer, waitMs);
  res.on("close", () => {
    if (done) return;
    done = true;
    stop();
    clearTimeout(timer);
  });
}

/** With `display=1` (the call's page), the values as a person reads them too. */
function shown(info: CallInfo, display: boolean): CallInfo & { display?: ReturnType<typeof callDisplay> } {
  return display ? { ...info, display: callDisplay(info) } : info;
}
