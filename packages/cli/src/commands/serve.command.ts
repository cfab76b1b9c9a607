import { requestedEnv, serverUrlFromEnv, UsageError } from "@stubrun/protocol";
import type { CommandModule } from "yargs";
import { ApiClient } from "../api-client";
import type { CliContext } from "../cli-context";
import { loadAppUpload } from "../loader/load-app";
import { ServeReloader } from "../run/serve.reloader";
import { buildImages } from "../run/image-builds";
import { connectOrStartServer } from "../run/server-client";
import { ExitStatus, INTERRUPTED } from "../exit-status";
import { Status } from "../status";
import { describeFunctions } from "./deploy.command";

interface ServeArgs {
  file: string;
}

/**
 * `stubrun serve FILE`: an ephemeral app whose web endpoints stay up, reloaded whenever the file
 * or one of its local imports changes, until Ctrl-C.
 */
export function serveCommand(context: CliContext): CommandModule<object, ServeArgs> {
  return {
    command: "serve <file>",
    describe: "Serve a file's web endpoints from an ephemeral app, reloading when its files change, until Ctrl-C",
    builder: (yargs) => yargs.positional("file", { type: "string", demandOption: true, describe: "the TypeScript file" }) as never,
    handler: async (args) => {
      const status = new Status(false);
      const upload = await loadAppUpload(args.file, context.home);
      if (!upload.manifest.functions.some((f) => f.kind === "webEndpoint")) {
        throw new UsageError(`${args.file} has no @stub.webEndpoint() to serve; add one, or run the file with: npx stubrun ${args.file}`);
      }
      const url = serverUrlFromEnv();
      const connection = await connectOrStartServer(url, context.home, status);
      const api = new ApiClient(url, context.home, status);
      await upload.assets.upload(api, status).catch((error: unknown) => {
        connection.close();
        throw error;
      });
      // A refused app ends the command: the open connection would otherwise keep the process alive.
      const { appId } = await buildImages(connection, upload.manifest, status)
        .then(() => connection.request<{ appId: string }>({ type: "app.create", manifest: { ...upload.manifest, name: upload.stubNames[0] }, files: upload.files, ...requestedEnv() }))
        .catch((error: unknown) => {
          connection.close();
          throw error;
        });
      const webRef = await stableName(api, upload.stubNames[0], appId);
      process.stdout.write(`Serving app ${appId} from ${args.file}; its web endpoints:\n${describeFunctions(upload.manifest.functions, url, webRef)}`);
      const watcher = new ServeReloader(args.file, appId, connection, status, url, api, webRef);
      await watcher.start(upload.sources);
      status.line("Watching its files for changes; press Ctrl-C to stop.");
      let stopping = false;
      const code = await new Promise<number>((resolve) => {
        process.once("SIGINT", () => {
          stopping = true;
          watcher.close();
          process.stderr.write(`\nInterrupted: stopping app ${appId}\n`);
          void connection
            .request({ type: "app.stop", appId })
            .catch(() => {})
            .finally(() => {
              connection.close();
              resolve(INTERRUPTED);
            });
        });
        connection.onClose((error) => {
          if (stopping) return;
          watcher.close();
          process.stderr.write(`Error: ${error.message}\n`);
          resolve(1);
        });
      });
      throw new ExitStatus(code);
    },
  };
}

/**
 * The stub's name in the served URLs, so they stay the same from one `serve` to the next: when
 * the name leads to this app (SPEC §3: a deployed app of that name would win), else the app's id.
 */
async function stableName(api: ApiClient, name: string | undefined, appId: string): Promise<string> {
  if (!name) return appId;
  const found = await api.get<{ id: string }>(`/api/apps/${encodeURIComponent(name)}`).catch(() => undefined);
  return found?.id === appId ? name : appId;
}
