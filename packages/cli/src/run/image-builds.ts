import { imageBuildSteps, type AppManifest, type ImageLog, type ImageManifest } from "@stubrun/protocol";
import type { ServerConnection } from "@stubrun/sdk";
import type { Status } from "../status";

/** An image's hash as the CLI shows it. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

/**
 * Builds each distinct image of the app where the workers run, before the app is created,
 * deployed or updated (the server refuses an app whose image is not built). Its log streams to
 * stderr with progress (`Building image 1a2b3c4d5e6f (step 1/3: npm install left-pad@1.3.0)`)
 * unless quiet; a cached image prints nothing. A failed build rejects with the log's tail.
 */
export async function buildImages(connection: ServerConnection, manifest: AppManifest, status: Status): Promise<void> {
  for (const image of distinctImages(manifest)) {
    const result = await connection.buildImage(image, (log) => status.line(formatLog(log)));
    if (result.built) status.line(`Image ${shortHash(result.image)} ready in ${result.seconds.toFixed(1)} s`);
  }
}

/** One line of the build log: a step's first line says which step, of how many. */
function formatLog(log: ImageLog): string {
  if (log.step) return `Building image ${shortHash(log.image)} (step ${log.step.index}/${log.step.count}: ${log.line})`;
  return `  ${log.line}`;
}

/** The images of the app's functions that have something to build, each once (files steps are not built). */
function distinctImages(manifest: AppManifest): ImageManifest[] {
  const seen = new Map<string, ImageManifest>();
  for (const fn of manifest.functions) {
    const steps = imageBuildSteps(fn.options.image);
    if (steps.length === 0) continue;
    const key = JSON.stringify(steps);
    if (!seen.has(key)) seen.set(key, { steps });
  }
  return [...seen.values()];
}
