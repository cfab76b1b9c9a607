import { RequestRefusedError, type AppManifest, type CodeFile } from "@stubrun/protocol";
import type { CodeStore } from "../code/code.store";
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
    return this.code.put(files);
  }

  /** Refuses a manifest that names a secret the server does not have, naming it and how to create it. */
  checkSecrets(manifest: AppManifest): void {
    const missing = this.secrets?.missing(manifest.functions.flatMap((f) => f.options.secrets ?? [])) ?? [];
    if (missing.length > 0) throw new RequestRefusedError(missingSecretMessage(missing));
  }
}
