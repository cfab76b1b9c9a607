import { decodeValue, serverUrlFromEnv, UsageError, type DictReply, type Encoded } from "@stubrun/protocol";
import type { Argv, CommandModule } from "yargs";
import { ApiClient } from "../api-client";
import type { CliContext } from "../cli-context";
import { ExitStatus } from "../exit-status";
import { formatReturnValue, printValue } from "../run/print-value";
import { Status } from "../status";
import { clearObject, deleteObject, listObjects, objectPath } from "./object-commands";

/** `stubrun dict list | get | items | clear | delete`: the server's Dicts (`Dict.fromName` in code). */
export function dictCommand(context: CliContext): CommandModule {
  const api = () => new ApiClient(serverUrlFromEnv(), context.home, new Status(false));
  const name = (y: Argv) => y.positional("name", { type: "string", describe: "the Dict's name" }).option("app", { type: "string", describe: "The app of an ephemeral Dict" });
  return {
    command: "dict",
    describe: "List the Dicts, read their entries, clear or delete one (Dict.fromName in code)",
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "list",
          describe: "List the Dicts: name, entries, app (ephemeral ones), created",
          builder: (y: Argv) => y.option("json", { type: "boolean", default: false, describe: "Print them as a JSON array" }),
          handler: async (args) => listObjects(api(), "dicts", args.json as boolean),
        })
        .command({
          command: "get <name> <key>",
          describe: "Print the value of KEY (a string; --json-key reads it as JSON, e.g. 5 or [1,2])",
          builder: (y: Argv) => name(y).positional("key", { type: "string" }).option("json-key", { type: "boolean", default: false, describe: "KEY is JSON" }),
          handler: async (args) => getEntry(api(), String(args.name), String(args.key), args.jsonKey as boolean, args.app as string | undefined),
        })
        .command({
          command: "items <name>",
          describe: "Print every entry, one KEY VALUE line each (values as JSON)",
          builder: name,
          handler: async (args) => printItems(api(), String(args.name), args.app as string | undefined),
        })
        .command({
          command: "clear <name>",
          describe: "Remove every entry of a Dict (it stays)",
          builder: (y: Argv) => name(y).option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" }),
          handler: async (args) => clearObject(api(), "Dict", String(args.name), args.yes as boolean, args.app as string | undefined),
        })
        .command({
          command: "delete <name>",
          describe: "Delete a Dict with its entries",
          builder: (y: Argv) => name(y).option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" }),
          handler: async (args) => deleteObject(api(), "Dict", String(args.name), args.yes as boolean, args.app as string | undefined),
        })
        .demandCommand(1, "Say what to do: dict list, dict get NAME KEY, dict items NAME, dict clear NAME or dict delete NAME"),
    handler: () => {},
  };
}

async function getEntry(api: ApiClient, name: string, key: string, jsonKey: boolean, app: string | undefined): Promise<void> {
  let encoded: Encoded = key;
  if (jsonKey) {
    try {
      encoded = JSON.parse(key) as Encoded;
    } catch {
      throw new UsageError(`--json-key: ${JSON.stringify(key)} is not JSON (a string key needs no --json-key)`);
    }
  }
  const reply = await api.get<DictReply>(objectPath("dicts", name, app, "/items", { key: JSON.stringify(encoded) }));
  if (!reply.found) {
    process.stderr.write(`Dict ${name} has no key ${JSON.stringify(encoded)}${jsonKey ? "" : " (a key that is not a string needs --json-key)"}\n`);
    throw new ExitStatus(1);
  }
  printValue(decodeValue(reply.value as Encoded));
}

async function printItems(api: ApiClient, name: string, app: string | undefined): Promise<void> {
  const { items } = await api.get<DictReply>(objectPath("dicts", name, app, "/items"));
  // The key as `get` takes it; the value as JSON, so a string shows its quotes.
  const asJson = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : formatReturnValue(value));
  for (const [key, value] of items ?? []) process.stdout.write(`${formatReturnValue(decodeValue(key))}\t${asJson(decodeValue(value))}\n`);
}
