import { markStubrunCli } from "@stubrun/sdk";
import { ExitStatus } from "./exit-status";
import { envNameProblem, StubrunError, UsageError } from "@stubrun/protocol";
import type { Argv, CommandModule } from "yargs";
import { contextFromEnv, type CliContext } from "./cli-context";
import { simpleRunArgs } from "./run/run-argv";

/**
 * Each command's module, required only when it is used: `stubrun FILE` does not pay for loading
 * what `server`, `serve` or `app` need (issue 11: load nothing a command does not use).
 */
const COMMAND_MODULES: Record<string, (context: CliContext) => CommandModule<object, never>> = {
  run: (c) => (require("./commands/run.command") as typeof import("./commands/run.command")).runCommand(c) as CommandModule<object, never>,
  server: (c) => (require("./commands/server.command") as typeof import("./commands/server.command")).serverCommand(c) as CommandModule<object, never>,
  app: (c) => (require("./commands/app.command") as typeof import("./commands/app.command")).appCommand(c) as CommandModule<object, never>,
  deploy: (c) => (require("./commands/deploy.command") as typeof import("./commands/deploy.command")).deployCommand(c) as CommandModule<object, never>,
  serve: (c) => (require("./commands/serve.command") as typeof import("./commands/serve.command")).serveCommand(c) as CommandModule<object, never>,
  secret: (c) => (require("./commands/secret.command") as typeof import("./commands/secret.command")).secretCommand(c) as CommandModule<object, never>,
  init: () => (require("./commands/init.command") as typeof import("./commands/init.command")).initCommand() as CommandModule<object, never>,
  worker: (c) => (require("./commands/worker.command") as typeof import("./commands/worker.command")).workerCommand(c) as CommandModule<object, never>,
  call: (c) => (require("./commands/call.command") as typeof import("./commands/call.command")).callCommand(c) as CommandModule<object, never>,
  dict: (c) => (require("./commands/dict.command") as typeof import("./commands/dict.command")).dictCommand(c) as CommandModule<object, never>,
  queue: (c) => (require("./commands/queue.command") as typeof import("./commands/queue.command")).queueCommand(c) as CommandModule<object, never>,
  volume: (c) => (require("./commands/volume.command") as typeof import("./commands/volume.command")).volumeCommand(c) as CommandModule<object, never>,
};

const COMMANDS = new Set(Object.keys(COMMAND_MODULES));
const RUNNER_FLAGS_WITH_VALUE = new Set<string>(["--env"]);

/**
 * Everything after FILE belongs to the entrypoint, so the run command's argv is split before yargs
 * sees it: `[run] [runner flags] FILE rest...` becomes `run [runner flags] FILE -- rest...`.
 */
export function normalizeArgv(argv: string[]): string[] {
  // The first word that is neither a flag nor a flag's value (`--env dev deploy x.ts`: "deploy").
  const first = argv.find((a, i) => !a.startsWith("-") && !RUNNER_FLAGS_WITH_VALUE.has(argv[i - 1]));
  const globalOnly = argv.length === 0 || argv.every((a) => ["--help", "-h", "--version"].includes(a));
  if (!globalOnly && argv[0] === "call") return splitCallArgv(argv);
  if (globalOnly || (first !== undefined && COMMANDS.has(first) && first !== "run")) return argv;
  const start = argv[0] === "run" ? 1 : 0;
  let i = start;
  while (i < argv.length && argv[i].startsWith("-") && argv[i] !== "--") i += RUNNER_FLAGS_WITH_VALUE.has(argv[i]) ? 2 : 1;
  if (argv[i] === "--") i++;
  if (i >= argv.length) return ["run", ...argv.slice(start)];
  return ["run", ...argv.slice(start, i), argv[i], "--", ...argv.slice(i + 1)];
}

/** `call [flags] APP FUNCTION rest...` becomes `call [flags] APP FUNCTION -- rest...`: the rest are the function's options. */
function splitCallArgv(argv: string[]): string[] {
  let i = 1;
  let positionals = 0;
  while (i < argv.length && positionals < 2) {
    if (argv[i] === "--version" || argv[i] === "--env") i += 2;
    else if (argv[i].startsWith("-")) i += 1;
    else {
      positionals++;
      i++;
    }
  }
  if (positionals < 2 || i >= argv.length) return argv;
  return [...argv.slice(0, i), "--", ...argv.slice(i)];
}

/** The stubrun CLI as a yargs instance, so tests can parse argv in-process. Handlers throw; the bin sets exit codes. */
export function createCli(argv: string[], context: CliContext = contextFromEnv()): Argv {
  const normalized = normalizeArgv(argv);
  // The command named first is the only one loaded; with none (--help, a typo) all are, for the list.
  const first = normalized.find((a, i) => !a.startsWith("-") && !RUNNER_FLAGS_WITH_VALUE.has(normalized[i - 1]));
  const names = first !== undefined && COMMANDS.has(first) ? [first] : [...COMMANDS];
  // yargs/yargs, not yargs: that one also parses process.argv as it loads. Required here, as
  // `stubrun FILE` mostly goes without it (main()).
  const yargs = require("yargs/yargs") as (argv: string[]) => Argv;
  const cli = yargs(normalized)
    .scriptName("stubrun")
    // The entrypoint's options pass through as text: yargs would turn `--label 1e3` into 1000.
    .parserConfiguration({ "populate--": true, "parse-positional-numbers": false })
    // --env NAME before any command's own arguments: what STUBRUN_ENV says, for this command.
    .option("env", { type: "string", global: true, describe: "The environment to work in: apps, secrets, Dicts, Queues and Volumes are its own (default: STUBRUN_ENV, else main)" })
    .middleware((args) => {
      if (typeof args.env === "string") useEnvFlag(args.env);
    });
  for (const name of names) cli.command(COMMAND_MODULES[name](context));
  return cli
    .strict()
    .demandCommand(1, "Give a file to run, e.g. npx stubrun examples/hello.ts")
    .help()
    .alias("help", "h")
    // No yargs --version: it would reserve the word "version" (`app rollback APP [VERSION]`); main() answers it.
    .version(false)
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      throw new UsageError(`${message}\nSee the commands with: npx stubrun --help`);
    });
}

/** `--env NAME`: what STUBRUN_ENV says, for this command. */
function useEnvFlag(env: string): void {
  const problem = envNameProblem(env);
  if (problem) throw new UsageError(`--env: ${problem}`);
  process.env.STUBRUN_ENV = env;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 the run failed, 2 usage error, 130 interrupted. */
export async function main(argv: string[]): Promise<number> {
  markStubrunCli();
  if (argv.length === 1 && argv[0] === "--version") {
    process.stdout.write(`${(require("../package.json") as { version: string }).version}\n`);
    return 0;
  }
  try {
    if (argv.length === 0) throw new UsageError("give a file to run, like: npx stubrun examples/hello.ts\nSee the commands with: npx stubrun --help");
    const simple = simpleRunArgs(normalizeArgv(argv));
    if (simple) {
      if (simple.env !== undefined) useEnvFlag(simple.env);
      await (require("./commands/run.command") as typeof import("./commands/run.command")).runWithArgs(simple, contextFromEnv());
    } else await createCli(argv).parseAsync();
    return 0;
  } catch (error) {
    if (error instanceof ExitStatus) return error.code;
    return reportError(error);
  }
}

/** stubrun's own refusals whose stack would only show stubrun's internals. */
const MESSAGE_ONLY = new Set(["SERVER_UNAVAILABLE", "REFUSED"]);

/**
 * Usage errors exit 2, everything else 1. stubrun's own errors print as `Error: message`; any
 * other error (the user's, local or remote) prints its stack, so the remote frames show.
 */
function reportError(error: unknown): number {
  const messageOnly =
    error instanceof StubrunError && (error instanceof UsageError || MESSAGE_ONLY.has(error.code) || !error.stack?.includes("\n    at "));
  if (messageOnly) process.stderr.write(`Error: ${(error as Error).message}\n`);
  else process.stderr.write(`${error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error)}\n`);
  return error instanceof UsageError ? 2 : 1;
}
