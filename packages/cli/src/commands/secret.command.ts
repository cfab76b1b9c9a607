import { SECRET_KEY_PATTERN, SECRET_NAME_PATTERN, serverUrlFromEnv, UsageError, type SecretSummary } from "@stubrun/protocol";
import fs from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { ApiClient } from "../api-client";
import type { CliContext } from "../cli-context";
import { Status } from "../status";
import { confirm, localTime, printTable } from "./terminal";

/**
 * `stubrun secret create | list | delete`: secrets stored on the server, given to functions with
 * `Secret.fromName(NAME)`. Values go to the server and never come back: `list` shows names,
 * keys and dates; no message quotes a value.
 */
export function secretCommand(context: CliContext): CommandModule {
  const api = () => new ApiClient(serverUrlFromEnv(), context.home, new Status(false));
  return {
    command: "secret",
    describe: "Create, list or delete secrets (environment variables for functions, given with Secret.fromName)",
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "create <name> [pairs..]",
          describe: "Create a secret from KEY=VALUE pairs and/or a .env file; an existing name needs --force",
          builder: (y: Argv) =>
            y
              .positional("name", { type: "string", describe: 'letters, digits, "-", "_" and "."; at most 64 characters' })
              .positional("pairs", { type: "string", array: true, describe: "KEY=VALUE ..." })
              .option("from-dotenv", { type: "string", describe: "Read KEY=VALUE lines from this file (pairs on the command line win)" })
              .option("force", { type: "boolean", default: false, describe: "Replace the values of a secret that exists" }),
          handler: async (args) => createSecret(api(), String(args.name), (args.pairs as string[] | undefined) ?? [], args.fromDotenv as string | undefined, args.force as boolean),
        })
        .command({
          command: "list",
          describe: "List secrets: names, keys and dates (never values)",
          builder: (y: Argv) => y.option("json", { type: "boolean", default: false, describe: "Print them as a JSON array" }),
          handler: async (args) => listSecrets(api(), args.json as boolean),
        })
        .command({
          command: "delete <name>",
          describe: "Delete a secret; apps that name it fail to start new workers",
          builder: (y: Argv) =>
            y
              .positional("name", { type: "string" })
              .option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" }),
          handler: async (args) => deleteSecret(api(), String(args.name), args.yes as boolean),
        })
        .demandCommand(1, "Say what to do: secret create NAME KEY=VALUE..., secret list or secret delete NAME"),
    handler: () => {},
  };
}

function checkName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) throw new UsageError(`secret name "${name}" may only hold letters, digits, "-", "_" and ".", at most 64 characters`);
}

async function createSecret(api: ApiClient, name: string, pairs: string[], dotenv: string | undefined, force: boolean): Promise<void> {
  checkName(name);
  const values: Record<string, string> = {};
  if (dotenv !== undefined) Object.assign(values, readDotenv(dotenv));
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    // The message shows the key part only: what follows "=" may be a value.
    if (eq <= 0) throw new UsageError(`"${eq < 0 ? pair : ""}" is not KEY=VALUE; write: npx stubrun secret create ${name} KEY=VALUE`);
    const key = pair.slice(0, eq);
    if (!SECRET_KEY_PATTERN.test(key)) throw new UsageError(`key ${JSON.stringify(key)} is not an environment variable name (letters, digits and "_", not starting with a digit)`);
    values[key] = pair.slice(eq + 1);
  }
  if (Object.keys(values).length === 0) throw new UsageError(`give the secret's values: npx stubrun secret create ${name} KEY=VALUE ... [--from-dotenv FILE]`);
  // A name that exists is refused (409, exit 1) unless --force.
  const result = await api.post<{ created: boolean; keys: string[] }>(`/api/secrets/${encodeURIComponent(name)}`, { values, force });
  process.stderr.write(`${result.created ? "Created" : "Replaced"} secret ${name} (keys: ${result.keys.join(", ")})\n`);
  process.stderr.write(`Use it with Secret.fromName(${JSON.stringify(name)}) on a Stub or a function${result.created ? "" : "; running workers keep the values they started with"}\n`);
}

/** KEY=VALUE lines of a .env file: `#` comments, `export `, single or double quotes (double ones read \n). */
export function readDotenv(file: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read --from-dotenv ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new UsageError(`${file}:${i + 1}: not a KEY=VALUE line`);
    const key = match[1];
    if (!SECRET_KEY_PATTERN.test(key)) throw new UsageError(`${file}:${i + 1}: key ${JSON.stringify(key)} is not an environment variable name`);
    let value = match[2];
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    values[key] = value;
  });
  return values;
}

async function listSecrets(api: ApiClient, asJson: boolean): Promise<void> {
  const secrets = await api.get<SecretSummary[]>("/api/secrets");
  if (asJson) {
    process.stdout.write(`${JSON.stringify(secrets, null, 2)}\n`);
    return;
  }
  if (secrets.length === 0) {
    process.stderr.write("No secrets yet: create one with npx stubrun secret create NAME KEY=VALUE\n");
    return;
  }
  printTable([["NAME", "KEYS", "CREATED", "UPDATED"], ...secrets.map((s) => [s.name, s.keys.join(","), localTime(s.createdAt), localTime(s.updatedAt)])]);
}

async function deleteSecret(api: ApiClient, name: string, yes: boolean): Promise<void> {
  checkName(name);
  await confirm(`Delete secret ${name}? Apps that use it cannot start new workers.`, { yes, refused: "not deleted" });
  await api.delete(`/api/secrets/${encodeURIComponent(name)}`);
  process.stderr.write(`Deleted secret ${name}\n`);
}
