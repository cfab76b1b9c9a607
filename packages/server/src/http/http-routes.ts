import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppManager } from "../apps/app-manager";
import type { AppsRepository } from "../state/apps.repository";

export interface HttpContext {
  apps: AppsRepository;
  manager: AppManager;
}

/** The HTTP side of the server: health for clients and the daemon, and the apps as JSON. */
export function handleHttp(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (req.method === "GET" && url.pathname === "/health") {
    return json(res, 200, { ok: true, service: "stubrun", pid: process.pid });
  }
  if (req.method === "GET" && url.pathname === "/api/apps") {
    const apps = ctx.apps.list().map((app) => ({
      id: app.id,
      name: app.name,
      state: app.state,
      version: app.version,
      createdAt: new Date(app.createdAt).toISOString(),
      stoppedAt: app.stoppedAt === null ? null : new Date(app.stoppedAt).toISOString(),
      runningTasks: ctx.manager.runningTasks(app.id),
      functions: app.manifest.functions.map((f) => f.name),
    }));
    return json(res, 200, apps);
  }
  json(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
