import { APP_NAME_PATTERN, DEFAULT_ENV, envFromProcess, requestedEnv, serverUrlFromEnv, UsageError, type DeployResult, type FunctionManifest } from "@stubrun/protocol";
import type { CommandModule } from "yargs";
import { ApiClient } from "../api-client";
import type { CliContext } from "../cli-context";
import { loadAppUpload } from "../loader/load-app";
import { buildImages } from "../run/image-builds";
import { connectOrStartServer } from "../run/server-client";
import { Status } from "../status";

interface DeployArgs {
  file: string;
  name?: string;
  quiet: boolean;
}

/** `stubrun deploy FILE [--name NAME]`: a named, persistent app, updated in place on redeploy. */
export function deployCommand(context: CliContext): CommandModule<object, DeployArgs> {
  return {
    command: "deploy <file>",
    describe: "Deploy a file as a named, persistent app (a redeploy updates it in place as its next version)",
    builder: (yargs) =>
      yargs
        .positional("file", { type: "string", demandOption: true, describe: "the TypeScript file" })
        .option("name", { type: "string", describe: "The app's name (default: the name given to new Stub())" })
        .option("quiet", { alias: "q", type: "boolean", default: false, describe: "Print only errors" }) as never,
    handler: async (args) => {
      const status = new Status(args.quiet);
      const upload = await loadAppUpload(args.file, context.home);
      const name = appName(args.file, args.name, upload.stubNames);
      const manifest = { ...upload.manifest, name };
      if (manifest.functions.length === 0) {
        throw new UsageError(`${args.file} has no @stub.function() or @stub.webEndpoint() to deploy`);
      }
      for (const fn of manifest.functions) {
        if (fn.options.schedule && fn.params.length > 0) {
          throw new UsageError(`${fn.name} has a schedule, so it must take no arguments; it takes ${fn.params.map((p) => p.name).join(", ")}`);
        }
      }
      const url = serverUrlFromEnv();
      const connection = await connectOrStartServer(url, context.home, status);
      try {
        await upload.assets.upload(new ApiClient(url, context.home, status), status);
        await buildImages(connection, manifest, status);
        const result = await connection.request<DeployResult>({ type: "app.deploy", manifest, files: upload.files, ...requestedEnv() });
        printDeploy(result, url);
      } finally {
        connection.close();
      }
    },
  };
}

/** The app's name: `--name`, else the Stub's name; checked as SPEC says. */
function appName(file: string, given: string | undefined, named: string[]): string {
  const name = given ?? (named.length === 1 ? named[0] : undefined);
  if (name === undefined) {
    const why = named.length > 1 ? `it has several named stubs (${named.join(", ")})` : "its Stub has no name";
    throw new UsageError(`deploying ${file} needs an app name, and ${why}: give one with new Stub("my-app") or --name my-app`);
  }
  if (!APP_NAME_PATTERN.test(name)) {
    throw new UsageError(`app name "${name}" may only hold letters, digits, "-", "_" and ".", at most 64 characters`);
  }
  return name;
}

function printDeploy(result: DeployResult, url: string): void {
  const env = envFromProcess();
  const where = env === DEFAULT_ENV ? "" : ` in environment ${env}`;
  const what = result.created
    ? `Created app ${result.name} (${result.appId})${where}, version ${result.version}`
    : result.changed
      ? `Updated app ${result.name} (${result.appId}) to version ${result.version}: ${result.changes}`
      : `App ${result.name} (${result.appId}) is unchanged: still version ${result.version}`;
  process.stdout.write(`${what}\n${describeFunctions(result.functions, url, result.name)}`);
}

/** One line per function: its name, schedule, and web endpoint URL (APP is a name or an app id; `/web/ENV/APP` outside "main"). */
export function describeFunctions(functions: FunctionManifest[], url: string, app: string, env = envFromProcess()): string {
  const webBase = `${url}/web/${env === DEFAULT_ENV ? "" : `${encodeURIComponent(env)}/`}${encodeURIComponent(app)}`;
  return functions
    .map((fn) => {
      const schedule = fn.options.schedule;
      const when = schedule ? (schedule.kind === "cron" ? `  (cron "${schedule.expression}" ${schedule.timezone})` : `  (every ${schedule.seconds} s)`) : "";
      const web = fn.kind === "webEndpoint" ? `  ${fn.webMethod ?? "GET"} ${webBase}/${fn.name}` : "";
      return `  ${fn.name}${when}${web}\n`;
    })
    .join("");
}
