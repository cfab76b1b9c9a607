import type { CommandModule } from "yargs";
import { runFile } from "../run/run-file";
import type { RunArgs } from "../run/run-argv";
import type { CliContext } from "../cli-context";

/** `stubrun [run] [--detach] [--quiet] FILE[::REF] [entrypoint options]` (the default command). */
export function runCommand(context: CliContext): CommandModule<object, RunArgs> {
  return {
    command: ["run <target>", "$0 <target>"],
    describe: "Run a file's entrypoint: FILE, FILE::Class.method, FILE::method or FILE::Class",
    builder: (yargs) =>
      yargs
        .positional("target", { type: "string", describe: "FILE[::REF], the file and optionally which entrypoint", demandOption: true })
        .option("quiet", { alias: "q", type: "boolean", default: false, describe: "Print no status lines (errors still print)" })
        .option("detach", { type: "boolean", default: false, describe: "Keep the app and its calls running after this command exits" })
        .example("$0 examples/hello.ts", "run the file's only local entrypoint")
        .example("$0 examples/options.ts::Options.main --n 3", "run a named entrypoint with options") as never,
    handler: (args) => runWithArgs(args, context),
  };
}

/** What the command does with its arguments, from yargs or from main()'s way around it (run-argv.ts). */
export function runWithArgs(args: RunArgs, context: CliContext): Promise<void> {
  return runFile({ target: args.target, entryArgs: args["--"] ?? [], quiet: args.quiet, detach: args.detach, home: context.home });
}
