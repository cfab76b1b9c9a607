import { imageBuildSteps, type ImageManifest } from "@stubrun/protocol";
import fs from "node:fs";
import path from "node:path";
import { imageHash } from "./image-hash";

/** The file whose presence says an image's folder is complete: written last, after every step succeeded. */
export const BUILT_MARKER = ".built";

/**
 * Built images under `$STUBRUN_HOME/images/<hash>/`, kept across apps and restarts. An image is
 * built in its own folder (so paths its steps record stay true) and counts as built only once
 * its `.built` marker exists: a server killed mid-build leaves a folder without one, which is
 * removed and built again, never used.
 */
export class ImageStore {
  constructor(readonly directory: string) {}

  /** The folder of the image with this hash. */
  dirOf(hash: string): string {
    return path.join(this.directory, hash);
  }

  isBuilt(hash: string): boolean {
    return fs.existsSync(path.join(this.dirOf(hash), BUILT_MARKER));
  }

  /**
   * What a worker of a function with this image needs: the image's folder (undefined when it has
   * nothing to build) and its environment variables, later `env` steps winning.
   */
  forWorker(image: ImageManifest | undefined): { dir: string | undefined; env: Record<string, string> } {
    const steps = imageBuildSteps(image);
    const env: Record<string, string> = {};
    for (const step of steps) if (step.kind === "env") Object.assign(env, step.values);
    return { dir: steps.length > 0 ? this.dirOf(imageHash(image)) : undefined, env };
  }

  /** Makes an empty folder for a build of `hash`, removing what an unfinished earlier build left. */
  prepare(hash: string): string {
    const dir = this.dirOf(hash);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Marks a build complete, once every step succeeded (the marker appears whole, by a rename). */
  markBuilt(hash: string, info: object): void {
    const dir = this.dirOf(hash);
    const temp = path.join(dir, `${BUILT_MARKER}.tmp`);
    fs.writeFileSync(temp, JSON.stringify(info));
    fs.renameSync(temp, path.join(dir, BUILT_MARKER));
  }

  /** Removes a failed build's folder. */
  discard(hash: string): void {
    fs.rmSync(this.dirOf(hash), { recursive: true, force: true });
  }

  /** Removes the folders of builds a killed server never finished (the caller holds the home's lock). */
  removeUnfinished(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.directory);
    } catch {
      return; // no image yet
    }
    for (const name of names) if (!this.isBuilt(name)) fs.rmSync(path.join(this.directory, name), { recursive: true, force: true });
  }
}
