import type { CommandModule } from "yargs";
import type { CliContext } from "../cli-context";
import { callDeployed } from "../run/call-deployed";

interface CallArgs {
  app: string;
  function?: string;
  version?: number;
  "--"?: string[];
}

/** `stubrun call [--version N] APP Class.method [function options]`. */
export function callCommand(context: CliContext): CommandModule<object, CallArgs> {
  return {
    command: "call <app> [function]",
    describe: "Call a function of a deployed app from the shell, its options read from the function's parameters",
    builder: (yargs) =>
      yargs
        .positional("app", { type: "string", describe: "the deployed app's name (or id)", demandOption: true })
        .positional("function", { type: "string", describe: "Class.method; what follows it are the function's options (see its --help)" })
        .option("version", { type: "number", describe: "Call this deployed version instead of the current one (given before APP)" })
        .example("$0 call hello-app Hello.square --x 4", "prints 16")
        .example("$0 call hello-app Hello.square --help", "the function's options") as never,
    handler: (args) =>
      callDeployed({ app: args.app, functionName: args.function, functionArgs: args["--"] ?? [], version: args.version, home: context.home }),
  };
}
