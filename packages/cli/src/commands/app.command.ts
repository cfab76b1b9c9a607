import { RequestRefusedError, serverUrlFromEnv, UsageError, type AppSummary, type CallInfo } from "@stubrun/protocol";
import type { Argv, CommandModule } from "yargs";
import { ApiClient } from "../api-client";
import type { CliContext } from "../cli-context";
import { Status } from "../status";
import { confirm, localTime, printTable } from "./terminal";

interface LogJson {
  stream: "stdout" | "stderr" | "system";
  data: string;
}

/** `stubrun app list | stop | logs`: look at and manage apps. APP is an app id or a name. */
export function appCommand(context: CliContext): CommandModule {
  const api = () => new ApiClient(serverUrlFromEnv(), context.home, new Status(false));
  return {
    command: "app",
    describe: "List apps, stop one, read its logs, see or roll back its versions",
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "list",
          describe: "List the apps that are not stopped: id, name, state, version, running tasks, created, stopped",
          builder: (y: Argv) =>
            y
              .option("all", { alias: "a", type: "boolean", default: false, describe: "Also list stopped apps, after the running ones (newest first)" })
              .option("json", { type: "boolean", default: false, describe: "Print every app, stopped ones included, as a JSON array" }),
          handler: async (args) => listApps(api(), args.json as boolean, args.all as boolean),
        })
        .command({
          command: "stop <app>",
          describe: "Stop an app: its running calls end as cancelled and its workers are killed",
          builder: (y: Argv) =>
            y
              .positional("app", { type: "string", describe: "app id or name" })
              .option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" }),
          handler: async (args) => stopApp(api(), String(args.app), args.yes as boolean),
        })
        .command({
          command: "delete <app>",
          describe: "Delete an app: stop it if it runs, then remove it with its versions, calls and logs (its name is free again)",
          builder: (y: Argv) =>
            y
              .positional("app", { type: "string", describe: "app id or name" })
              .option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" }),
          handler: async (args) => deleteApp(api(), String(args.app), args.yes as boolean),
        })
        .command({
          command: "logs <app>",
          describe: "Print an app's recent logs; --follow streams them live until the app stops; --call ID only that call's lines",
          builder: (y: Argv) =>
            y
              .positional("app", { type: "string", describe: "app id or name" })
              .option("follow", { alias: "f", type: "boolean", default: false, describe: "Keep streaming new lines" })
              .option("lines", { alias: "n", type: "number", default: 200, describe: "How many recent lines" })
              .option("call", { type: "string", describe: "Only the lines of this call (its id, as .spawn() and the apps page show it); --follow ends when the call does" }),
          handler: async (args) => appLogs(api(), String(args.app), args.follow as boolean, args.lines as number, args.call as string | undefined),
        })
        .command({
          command: "history <app>",
          describe: "List a deployed app's versions: version, time, what changed",
          builder: (y: Argv) => y.positional("app", { type: "string", describe: "app id or name" }),
          handler: async (args) => appHistory(api(), String(args.app)),
        })
        .command({
          command: "rollback <app> [version]",
          describe: "Redeploy an earlier version's code as a new version (default: the version before the current one)",
          builder: (y: Argv) =>
            y.positional("app", { type: "string", describe: "app id or name" }).positional("version", { type: "string", describe: "the version to go back to" }),
          handler: async (args) => appRollback(api(), String(args.app), args.version as string | undefined),
        })
        .demandCommand(1, "Say what to do: app list, app stop APP, app delete APP, app logs APP, app history APP or app rollback APP"),
    handler: () => {},
  };
}

async function listApps(api: ApiClient, asJson: boolean, all: boolean): Promise<void> {
  const every = await api.get<AppSummary[]>("/api/apps");
  if (asJson) {
    process.stdout.write(`${JSON.stringify(every, null, 2)}\n`);
    return;
  }
  // SPEC §3: the apps that are not stopped; --all adds the stopped ones, after them (each part newest first).
  const running = every.filter((a) => a.state !== "stopped");
  const apps = all ? [...running, ...every.filter((a) => a.state === "stopped")] : running;
  const rows = [
    ["APP ID", "NAME", "STATE", "VERSION", "TASKS", "CREATED", "STOPPED"],
    ...apps.map((a) => [a.id, a.name ?? "-", a.state, String(a.version), String(a.runningTasks), localTime(a.createdAt), a.stoppedAt ? localTime(a.stoppedAt) : "-"]),
  ];
  printTable(rows);
  if (every.length === 0) process.stderr.write("No apps yet: run one with npx stubrun FILE\n");
  else if (apps.length === 0) process.stderr.write(`No app is running; ${every.length} stopped (see them with: npx stubrun app list --all)\n`);
  for (const a of apps) {
    if (a.state === "failed") process.stderr.write(`App ${a.id}${a.name ? ` (${a.name})` : ""} failed to start: ${a.failure ?? "see its logs"}\n`);
  }
}

/** `app delete APP`: asks on a terminal; elsewhere it needs --yes, since nothing of the app can be brought back. */
async function deleteApp(api: ApiClient, ref: string, yes: boolean): Promise<void> {
  const app = await api.get<AppSummary>(`/api/apps/${encodeURIComponent(ref)}`);
  const shown = `${app.id}${app.name ? ` (${app.name})` : ""}`;
  await confirm(`Delete app ${shown}${app.state === "stopped" ? "" : ", stopping it first,"} with its versions, calls and logs?`, {
    yes,
    refused: "not deleted",
    strict: `deleting app ${shown} removes it and its history for good: confirm with --yes`,
  });
  const deleted = await api.delete<{ calls: number; logs: number }>(`/api/apps/${encodeURIComponent(app.id)}`);
  process.stderr.write(`Deleted app ${shown}: ${deleted.calls} call record(s) and ${deleted.logs} log entries removed\n`);
}

async function stopApp(api: ApiClient, ref: string, yes: boolean): Promise<void> {
  const app = await api.get<AppSummary>(`/api/apps/${encodeURIComponent(ref)}`);
  if (app.state === "stopped") {
    process.stderr.write(`App ${app.id}${app.name ? ` (${app.name})` : ""} is already stopped\n`);
    return;
  }
  await confirm(`Stop app ${app.id}${app.name ? ` (${app.name})` : ""} and cancel its running calls?`, { yes, refused: "not stopped" });
  await api.post(`/api/apps/${encodeURIComponent(app.id)}/stop`);
  process.stderr.write(`Stopped app ${app.id}${app.name ? ` (${app.name})` : ""}\n`);
}

async function appLogs(api: ApiClient, ref: string, follow: boolean, lines: number, callId?: string): Promise<void> {
  const app = await api.get<AppSummary>(`/api/apps/${encodeURIComponent(ref)}`);
  let path = `/api/apps/${encodeURIComponent(app.id)}/logs?limit=${lines}`;
  if (callId !== undefined) {
    const call = await api.get<CallInfo>(`/api/calls/${encodeURIComponent(callId)}`);
    if (call.appId !== app.id) throw new UsageError(`call ${callId} is not a call of app ${ref} (${app.id}): it is of app ${call.appId}`);
    path = `/api/calls/${encodeURIComponent(callId)}/logs?limit=${lines}`;
  }
  if (!follow) {
    for (const entry of await api.get<LogJson[]>(path)) print(entry);
    return;
  }
  let behind: string | undefined;
  await api.events(`${path}&follow=1`, (event, data) => {
    if (event === "log") print(data as LogJson);
    else if (event === "omitted") process.stderr.write(`stubrun: ${(data as { reason: string }).reason}\n`);
    else if (event === "behind") behind = (data as { error: string }).error;
  });
  // The server ended the stream because this terminal read too slowly: say so, rather than end as if the app stopped.
  if (behind) throw new RequestRefusedError(behind);
}

async function appHistory(api: ApiClient, ref: string): Promise<void> {
  const { app, versions } = await api.get<{ app: AppSummary; versions: { version: number; createdAt: string; changes: string }[] }>(
    `/api/apps/${encodeURIComponent(ref)}/history`,
  );
  if (versions.length === 0) {
    process.stderr.write(`App ${app.id}${app.name ? ` (${app.name})` : ""} is ${app.state}: only deployed apps have versions\n`);
    return;
  }
  printTable([["VERSION", "DEPLOYED", "CHANGES"], ...versions.map((v) => [`${v.version}${v.version === app.version ? " *" : ""}`, localTime(v.createdAt), v.changes])]);
}

async function appRollback(api: ApiClient, ref: string, version: string | undefined): Promise<void> {
  if (version !== undefined && !/^[1-9]\d*$/.test(version)) throw new UsageError(`VERSION must be a whole number from 1, got "${version}"`);
  const query = version === undefined ? "" : `?version=${version}`;
  const result = await api.post<{ appId: string; name: string; version: number; changes: string }>(`/api/apps/${encodeURIComponent(ref)}/rollback${query}`);
  process.stdout.write(`Rolled app ${result.name} (${result.appId}) back: now version ${result.version} (${result.changes})\n`);
}

function print(entry: LogJson): void {
  if (entry.stream === "stdout") process.stdout.write(entry.data);
  else process.stderr.write(entry.stream === "system" ? `[stubrun] ${entry.data}` : entry.data);
}
