import type { DeployResult } from "@stubrun/protocol";
import type { ServerConnection } from "@stubrun/sdk";
import { watch, type FSWatcher } from "chokidar";
import { execFile } from "node:child_process";
import { describeFunctions } from "../commands/deploy.command";
import type { ApiClient } from "../api-client";
import { uploadFromJson, type AppUpload } from "../loader/load-app";
import type { Status } from "../status";
import { buildImages } from "./image-builds";

/** How long to wait for a burst of file changes (an editor's save) to settle before reloading. */
const SETTLE_MS = 150;

/**
 * `stubrun serve`'s reloads: watches the app's files and uploads a fresh build when they change.
 * chokidar follows a file across an editor's atomic save (a temporary file renamed over it: a new
 * inode) and across a delete and re-create, so the watch outlives any edit, a broken one included:
 * the fix that follows a failed reload is seen.
 */
export class ServeReloader {
  private watcher: FSWatcher | undefined;
  private watched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly appId: string,
    private readonly connection: ServerConnection,
    private readonly status: Status,
    private readonly url: string,
    /** Uploads the packages and files a new version carries. */
    private readonly api: ApiClient,
    /** What the web endpoints' URLs name the app by: its stub's name, or its id. */
    private readonly webRef: string = appId,
  ) {
  }

  /**
   * Starts watching the app's files; resolves once the watch is in place (chokidar's "ready"),
   * so an edit made right after "Watching its files" is seen.
   */
  start(paths: string[]): Promise<void> {
    const watcher = (this.watcher = watch(paths, { ignoreInitial: true, atomic: true }));
    this.watched = new Set(paths);
    watcher.on("all", () => this.changed());
    watcher.on("error", (error) => process.stderr.write(`Watching ${this.file}'s files: ${(error as Error).message}\n`));
    return new Promise((resolve) => watcher.once("ready", () => resolve()));
  }

  /** Watches exactly these files (the app's local sources), from now on. */
  watch(paths: string[]): void {
    if (!this.watcher) return;
    const next = new Set(paths);
    const gone = [...this.watched].filter((p) => !next.has(p));
    const added = paths.filter((p) => !this.watched.has(p));
    if (gone.length > 0) this.watcher.unwatch(gone);
    if (added.length > 0) this.watcher.add(added);
    this.watched = next;
  }

  close(): void {
    clearTimeout(this.timer);
    void this.watcher?.close();
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
      // The files watched so far stay watched: the user's fix to them reloads.
      process.stderr.write(`Reload failed, still serving the previous version:\n${(error as Error).message}\n`);
      return;
    }
    this.watch(upload.sources);
    try {
      await upload.assets.upload(this.api, this.status);
      await buildImages(this.connection, upload.manifest, this.status);
      const result = await this.connection.request<DeployResult>({
        type: "app.update",
        appId: this.appId,
        manifest: { ...upload.manifest, name: upload.stubNames[0] },
        files: upload.files,
      });
      if (!result.changed) return;
      this.status.line(`Reloaded ${this.file}: version ${result.version} (${result.changes})`);
      process.stdout.write(describeFunctions(result.functions, this.url, this.webRef));
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
      resolve(uploadFromJson(stdout));
    });
  });
}
