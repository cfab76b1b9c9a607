import { imageBuildSteps, type ImageManifest } from "@stubrun/protocol";
import crypto from "node:crypto";

/**
 * An image's content hash: the sha256 of its build steps (npmInstall, env, runCommands, in
 * order; `files` steps are landed with the code, not built) and of what a built image depends on
 * here: the platform, the CPU architecture and Node's ABI (`process.versions.modules`), since
 * native addons built for one do not load in another.
 */
export function imageHash(image: ImageManifest | undefined, host: HostFacts = hostFacts()): string {
  const content = JSON.stringify({ format: 1, steps: imageBuildSteps(image), ...host });
  return crypto.createHash("sha256").update(content).digest("hex");
}

/** What a built image depends on beyond its steps. */
export interface HostFacts {
  platform: string;
  arch: string;
  modules: string;
}

export function hostFacts(): HostFacts {
  return { platform: process.platform, arch: process.arch, modules: process.versions.modules };
}

/** An image's hash as messages show it. */
export function shortImageHash(hash: string): string {
  return hash.slice(0, 12);
}
