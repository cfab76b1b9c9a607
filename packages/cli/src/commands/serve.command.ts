import { serverUrlFromEnv, UsageError, type DeployResult } from "@stubrun/protocol";
import type { ServerConnection } from "@stubrun/sdk";
import { execFile } from "node:child_process";
import fs from "node:fs";
import type { CommandModule } from "yargs";
import type { CliContext } from "../cli-context";
import { loadAppUpload, type AppUpload } from "../loader/load-app";
import { connectOrStartServer } from "../run/server-client";
import { ExitStatus, INTERRUPTED } from "../exit-status";
import { Status } from "../status";
import { describeFunctions } from "./deploy.command";

interface ServeArgs {
  file: string;
}

/** How long to wait for a burst of file changes (an editor's save) to settle before reloading. */
const SETTLE_MS = 150;

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
      const upload = loadAppUpload(args.file);
      if (!upload.manifest.functions.some((f) => f.kind === "webEndpoint")) {
        throw new UsageError(`${args.file} has no @stub.webEndpoint() to serve; add one, or run the file with: npx stubrun ${args.file}`);
      }
      const url = serverUrlFromEnv();
      const connection = await connectOrStartServer(url, context.home, status);
      // A refused app ends the command: the open connection would otherwise keep the process alive.
      const { appId } = await connection
        .request<{ appId: string }>({ type: "app.create", manifest: { ...upload.manifest, name: upload.stubNames[0] }, files: upload.files })
        .catch((error: unknown) => {
          connection.close();
          throw error;
        });
      process.stdout.write(`Serving app ${appId} from ${args.file}; its web endpoints:\n${describeFunctions(upload.manifest.functions, url, appId)}`);
      status.line("Watching its files for changes; press Ctrl-C to stop.");
      const watcher = new Reloader(args.file, appId, connection, status, url);
      watcher.watch(upload.sources);
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

/** Watches the app's files and uploads a fresh build when they change. */
class Reloader {
  private watchers: fs.FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly appId: string,
    private readonly connection: ServerConnection,
    private readonly status: Status,
    private readonly url: string,
  ) {}

  watch(paths: string[]): void {
    for (const w of this.watchers) w.close();
    this.watchers = paths.map((p) => fs.watch(p, () => this.changed()));
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
  }

  private changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.reloading = this.reloading.then(() => this.reload())), SETTLE_MS);
  }

  private async reload(): Promise<void> {
    let upload: AppUpload;
    try {
      upload = await freshUpload(this.file);
    } catch (error) {
      process.stderr.write(`Reload failed, still serving the previous version:\n${(error as Error).message}\n`);
      return;
    }
    this.watch(upload.sources);
    try {
      const result = await this.connection.request<DeployResult>({
        type: "app.update",
        appId: this.appId,
        manifest: { ...upload.manifest, name: upload.stubNames[0] },
        files: upload.files,
      });
      if (!result.changed) return;
      this.status.line(`Reloaded ${this.file}: version ${result.version} (${result.changes})`);
      process.stdout.write(describeFunctions(result.functions, this.url, this.appId));
    } catch (error) {
      process.stderr.write(`Reload refused, still serving the previous version: ${(error as Error).message}\n`);
    }
  }
}

/** Loads the file in a new process, so the new code's decorators run against an empty registry. */
function freshUpload(file: string): Promise<AppUpload> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [require.resolve("../loader/bundle-main"), file], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(stderr.trim() || error.message));
      resolve(JSON.parse(stdout) as AppUpload);
    });
  });
}
