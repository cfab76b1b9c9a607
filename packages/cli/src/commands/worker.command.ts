import { serverUrlFromEnv, UsageError } from "@stubrun/protocol";
import os from "node:os";
import type { CommandModule } from "yargs";
import type { CliContext } from "../cli-context";

interface WorkerArgs {
  server?: string;
  queue: string;
  concurrency?: number;
  cpus?: number;
  prestartedWorkers?: number;
}

/**
 * `stubrun worker --server URL --queue redis://HOST:PORT [--concurrency N]`: a worker node. It
 * takes calls from the server's BullMQ queues and runs them in worker processes, until SIGINT or
 * SIGTERM. It authenticates with `STUBRUN_TOKEN` (the server's full token).
 */
export function workerCommand(context: CliContext): CommandModule<object, WorkerArgs> {
  return {
    command: "worker",
    describe: "Run a worker node: take calls from a server started with --queue, and run them here",
    builder: (yargs) =>
      yargs
        .option("server", { type: "string", describe: "The server's URL (default: STUBRUN_SERVER_URL, else http://127.0.0.1:7420)" })
        .option("queue", { type: "string", demandOption: true, describe: "The Redis the server queues calls on: redis://HOST:PORT" })
        .option("concurrency", { type: "number", describe: "Calls this node runs at once (default: its CPU count)" })
        .option("cpus", { type: "number", describe: "Cores shared out among workers of functions with a cpu option (default: its CPU count)" })
        .option("prestarted-workers", { type: "number", describe: "Worker processes kept started ahead, with no code, for fast cold starts; 0 for none (default: --concurrency)" }) as never,
    handler: async (args) => {
      const token = process.env.STUBRUN_TOKEN;
      if (!token) throw new UsageError("stubrun worker needs the server's token: set STUBRUN_TOKEN to the server's STUBRUN_TOKEN (or the content of the token file in its STUBRUN_HOME)");
      const concurrency = args.concurrency ?? os.availableParallelism();
      if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency expects a whole number of calls, at least 1, got ${args.concurrency}`);
      if (args.cpus !== undefined && !(Number.isFinite(args.cpus) && args.cpus > 0)) throw new UsageError(`--cpus expects a number of cores above 0, got ${args.cpus}`);
      const prestarted = args.prestartedWorkers;
      if (prestarted !== undefined && !(Number.isSafeInteger(prestarted) && prestarted >= 0)) throw new UsageError(`--prestarted-workers expects a whole number of processes, 0 or more, got ${prestarted}`);
      const serverUrl = new URL(args.server ?? serverUrlFromEnv()).origin;
      const { WorkerNode, CodeCache, redisConnection, withoutPassword } = await import("@stubrun/server");
      const connection = redisConnection(args.queue);
      // Code, packages and added files come from the server by content hash, into this node's own STUBRUN_HOME.
      const codeSource = new CodeCache(context.home, serverUrl, token);
      codeSource.removeLeftoverStaging();
      const node = new WorkerNode({ serverUrl, token, connection, concurrency, ...(args.cpus !== undefined ? { cpus: args.cpus } : {}), ...(prestarted !== undefined ? { prestartedWorkers: prestarted } : {}), home: context.home, codeSource });
      process.stderr.write(`stubrun worker ${node.nodeId}: ${concurrency} slot${concurrency === 1 ? "" : "s"}, server ${serverUrl}, queue ${withoutPassword(args.queue)} (STUBRUN_HOME=${context.home})\n`);
      node.start();
      const stop = (signal: string) => {
        process.stderr.write(`stubrun worker: ${signal}, stopping\n`);
        void node.close().finally(() => process.exit(0));
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
      await new Promise(() => {}); // serve until a signal ends the process
    },
  };
}
