import { RequestRefusedError, type AppManifest, type CodeFile } from "@stubrun/protocol";
import type { BlobStore } from "../code/blob.store";
import type { CodeLayer, CodeStore } from "../code/code.store";
import { checkManifestLimits, type OptionLimits } from "./manifest-limits";
import { checkUploadFiles } from "./upload-files";
import { missingSecretMessage, type SecretsRepository } from "../state/secrets.repository";

/** Checks the uploads of app.create, app.deploy and app.update, and stores their code. */
export class AppUploads {
  constructor(
    private readonly code: CodeStore,
    private readonly limits: OptionLimits,
    /** Where named secrets are looked up: an upload that names a missing one is refused. */
    private readonly secrets?: Pick<SecretsRepository, "missing">,
    /** Where the packages and files an upload carries were stored (`PUT /api/blobs/HASH`). */
    private readonly blobs?: Pick<BlobStore, "has" | "dir">,
  ) {}

  /** Checks an upload and stores its code; returns the code's directory. */
  store(manifest: AppManifest, files: CodeFile[]): string {
    if (!files.some((f) => f.path === manifest.entry)) {
      throw new RequestRefusedError(`the upload has no entry file "${manifest.entry}"`);
    }
    const names = new Set<string>();
    for (const fn of manifest.functions) {
      if (names.has(fn.name)) throw new RequestRefusedError(`the manifest names function ${fn.name} twice`);
      names.add(fn.name);
    }
    checkManifestLimits(manifest, this.limits);
    checkUploadFiles(files);
    this.checkSecrets(manifest);
    return this.code.put(files, this.layers(manifest));
  }

  /** The packages the upload carries, each a stored blob; refused (naming it) when one is not stored. */
  private layers(manifest: AppManifest): CodeLayer[] {
    const layers: CodeLayer[] = [];
    for (const pkg of manifest.packages ?? []) {
      if (!this.blobs?.has(pkg.blob)) {
        throw new RequestRefusedError(`the upload needs package ${pkg.name}@${pkg.version}, whose files (blob ${pkg.blob.slice(0, 12)}) the server does not have: upload them first (PUT /api/blobs/HASH; the CLI does it)`);
      }
      layers.push({ path: pkg.path, blob: pkg.blob, dir: this.blobs.dir(pkg.blob) });
    }
    return layers;
  }

  /** Refuses a manifest that names a secret the server does not have, naming it and how to create it. */
  checkSecrets(manifest: AppManifest): void {
    const missing = this.secrets?.missing(manifest.functions.flatMap((f) => f.options.secrets ?? [])) ?? [];
    if (missing.length > 0) throw new RequestRefusedError(missingSecretMessage(missing));
  }
}
