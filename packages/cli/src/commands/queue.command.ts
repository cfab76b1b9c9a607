import { decodeValue, serverUrlFromEnv, type Encoded } from "@stubrun/protocol";
import type { Argv, CommandModule } from "yargs";
import { ApiClient } from "../api-client";
import type { CliContext } from "../cli-context";
import { printValue } from "../run/print-value";
import { Status } from "../status";
import { clearObject, deleteObject, listObjects, objectPath } from "./object-commands";

/** `stubrun queue list | peek | clear | delete`: the server's Queues (`Queue.fromName` in code). */
export function queueCommand(context: CliContext): CommandModule {
  const api = () => new ApiClient(serverUrlFromEnv(), context.home, new Status(false));
  const name = (y: Argv) => y.positional("name", { type: "string", describe: "the Queue's name" }).option("app", { type: "string", describe: "The app of an ephemeral Queue" });
  const partition = (y: Argv) => y.option("partition", { alias: "p", type: "string", default: "", describe: "Which partition (the default one when absent)" });
  return {
    command: "queue",
    describe: "List the Queues, peek at their values, clear or delete one (Queue.fromName in code)",
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "list",
          describe: "List the Queues: name, values, partitions, app (ephemeral ones), created",
          builder: (y: Argv) => y.option("json", { type: "boolean", default: false, describe: "Print them as a JSON array" }),
          handler: async (args) => listObjects(api(), "queues", args.json as boolean),
        })
        .command({
          command: "peek <name> [n]",
          describe: "Print the next N values (default 10) without taking them",
          builder: (y: Argv) => partition(name(y).positional("n", { type: "number", default: 10 })),
          handler: async (args) => peek(api(), String(args.name), Number(args.n), String(args.partition), args.app as string | undefined),
        })
        .command({
          command: "clear <name>",
          describe: "Remove the values of a partition (--all: of every one); the Queue stays",
          builder: (y: Argv) =>
            partition(name(y))
              .option("all", { type: "boolean", default: false, describe: "Every partition" })
              .option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" }),
          handler: async (args) =>
            clearObject(api(), "Queue", String(args.name), args.yes as boolean, args.app as string | undefined, { partition: String(args.partition), ...(args.all ? { all: "1" } : {}) }),
        })
        .command({
          command: "delete <name>",
          describe: "Delete a Queue with its values; gets waiting on it fail",
          builder: (y: Argv) => name(y).option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" }),
          handler: async (args) => deleteObject(api(), "Queue", String(args.name), args.yes as boolean, args.app as string | undefined),
        })
        .demandCommand(1, "Say what to do: queue list, queue peek NAME [N], queue clear NAME or queue delete NAME"),
    handler: () => {},
  };
}

async function peek(api: ApiClient, name: string, n: number, partition: string, app: string | undefined): Promise<void> {
  const { values } = await api.get<{ values: Encoded[] }>(objectPath("queues", name, app, "/items", { n: String(n), partition }));
  for (const value of values) printValue(decodeValue(value));
}
