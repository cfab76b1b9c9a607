import { startDaemon, stopDaemon } from "@stubrun/daemon";
import { appsPageLink, clientToken, pingServer, readDaemon, readTokenFile, serverUrlFromEnv, UsageError, type NodesSummary } from "@stubrun/protocol";
import type { CommandModule } from "yargs";
import type { CliContext } from "../cli-context";
import { ExitStatus } from "../exit-status";

interface ServerArgs {
  action?: "start" | "stop" | "status";
  port?: number;
  host?: string;
  queue?: string;
  insecureWorkers?: boolean;
}

/** `stubrun server [--port N]` in the foreground; `stubrun server start|stop|status` for the daemon. */
export function serverCommand(context: CliContext): CommandModule<object, ServerArgs> {
  return {
    command: "server [action]",
    describe: "Run the control plane: in the foreground, or as a background daemon (start, stop, status)",
    builder: (yargs) =>
      yargs
        .positional("action", { choices: ["start", "stop", "status"] as const, describe: "manage the background daemon" })
        .option("port", { type: "number", describe: "Port to listen on (default: the port of STUBRUN_SERVER_URL, 7420)" })
        .option("host", { type: "string", describe: "Address to listen on", default: "127.0.0.1" })
        .option("queue", { type: "string", describe: "Run calls through BullMQ on this Redis (redis://HOST:PORT), on `stubrun worker` nodes" })
        .option("insecure-workers", { type: "boolean", describe: "Listen beyond loopback even though workers cannot be sandboxed (any function could read the server's token)" }) as never,
    handler: async (args) => {
      const url = new URL(serverUrlFromEnv());
      const port = args.port ?? Number(url.port || 7420);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects a port number from 0 to 65535, got ${args.port}`);
      const host = args.host ?? "127.0.0.1";
      // The server reads it (and a daemon inherits it): see docs/security.md.
      if (args.insecureWorkers) process.env.STUBRUN_INSECURE_WORKERS = "1";
      switch (args.action) {
        case undefined: {
          // Not the package's index: it exports the worker node, which loads BullMQ.
          const { runServerProcess } = require("@stubrun/server/run-server") as Pick<typeof import("@stubrun/server"), "runServerProcess">;
          await runServerProcess({ home: context.home, port, host, queue: args.queue });
          await new Promise(() => {}); // serve until a signal ends the process
          return;
        }
        case "start": {
          const running = readDaemon(context.home);
          if (running && (await pingServer(running.url))) {
            process.stderr.write(`The stubrun server is already running on ${running.url} (pid ${running.pid})\n`);
            process.stderr.write(appsPageLine(running.url, context.home));
            return;
          }
          const info = await startDaemon(context.home, port, host, args.queue);
          process.stderr.write(`Started the stubrun server on ${info.url} (pid ${info.pid}, STUBRUN_HOME=${context.home})\n`);
          process.stderr.write(appsPageLine(info.url, context.home));
          return;
        }
        case "stop": {
          if (await stopDaemon(context.home)) return void process.stderr.write("Stopped the stubrun server\n");
          process.stderr.write(`No stubrun server is running for STUBRUN_HOME=${context.home}\n`);
          const elsewhere = await serverPid(url.origin);
          if (elsewhere !== undefined) {
            process.stderr.write(`A stubrun server (pid ${elsewhere}) answers at ${url.origin}: it has another STUBRUN_HOME; stop it with that STUBRUN_HOME, or: kill ${elsewhere}\n`);
          }
          return;
        }
        case "status": {
          const info = readDaemon(context.home);
          const answering = info ? await pingServer(info.url) : false;
          process.stdout.write(
            info && answering ? `running on ${info.url} (pid ${info.pid})\n` : info ? `pid ${info.pid} is alive but not answering on ${info.url}\n` : "not running\n",
          );
          if (info && answering) process.stdout.write(appsPageLine(info.url, context.home));
          if (info && answering) process.stdout.write(await nodesLines(info.url));
          if (!(info && answering)) throw new ExitStatus(3);
          return;
        }
      }
    },
  };
}

/** The apps page link that logs a browser in, with the server's local token. */
function appsPageLine(url: string, home: string): string {
  const token = readTokenFile(home) ?? process.env.STUBRUN_TOKEN;
  return token ? `Apps page (this link logs a browser in): ${appsPageLink(url, token)}\n` : "";
}

/** The pid a stubrun server at `url` reports, if one answers there. */
async function serverPid(url: string): Promise<number | undefined> {
  try {
    const body = (await (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).json()) as { service?: string; pid?: number };
    return body.service === "stubrun" ? body.pid : undefined;
  } catch {
    return undefined;
  }
}

/** The worker nodes of a server started with --queue, a line each (nothing for one without). */
async function nodesLines(url: string): Promise<string> {
  const token = clientToken(url);
  let summary: NodesSummary;
  try {
    const res = await fetch(`${url}/api/nodes`, { headers: token ? { authorization: `Bearer ${token.token}` } : {}, signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return "";
    summary = (await res.json()) as NodesSummary;
  } catch {
    return "";
  }
  if (!summary.queue) return "";
  if (summary.nodes.length === 0) return "worker nodes: none connected (calls wait in the queue until one is)\n";
  const lines = summary.nodes.map((n) => `  ${n.nodeId}: ${n.slots} slots, ${n.running.length} running${n.running.length ? ` (${n.running.join(", ")})` : ""}, connected since ${n.connectedAt}\n`);
  return `worker nodes (${summary.nodes.length}):\n${lines.join("")}`;
}
