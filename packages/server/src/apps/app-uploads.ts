import { DEFAULT_ENV, imageBuildSteps, RequestRefusedError, type AppManifest, type CodeFile } from "@stubrun/protocol";
import { imageHash, shortImageHash } from "../images/image-hash";
import type { ImageStore } from "../images/image-store";
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
    /** Where built images are: an upload whose image is not built is refused. */
    private readonly images?: Pick<ImageStore, "isBuilt">,
    /** Where the packages and files an upload carries were stored (`PUT /api/blobs/HASH`). */
    private readonly blobs?: Pick<BlobStore, "has" | "dir">,
  ) {}

  /** Checks an upload and stores its code; returns the code's directory. */
  store(manifest: AppManifest, files: CodeFile[], env = DEFAULT_ENV): string {
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
    this.checkSecrets(manifest, env);
    this.checkImages(manifest);
    return this.code.put(files, this.layers(manifest));
  }

  /**
   * What lands in the code folder beside the code, each a stored blob: the packages, then the
   * files the functions' images add (each once). Refused, naming it, when a blob is not stored.
   */
  private layers(manifest: AppManifest): CodeLayer[] {
    const layers: CodeLayer[] = [];
    const add = (at: string, blob: string, what: string) => {
      if (layers.some((l) => l.path === at && l.blob === blob)) return;
      if (!this.blobs?.has(blob)) {
        throw new RequestRefusedError(`the upload needs ${what}, whose files (blob ${blob.slice(0, 12)}) the server does not have: upload them first (PUT /api/blobs/HASH; the CLI does it)`);
      }
      layers.push({ path: at, blob, dir: this.blobs.dir(blob) });
    };
    for (const pkg of manifest.packages ?? []) add(pkg.path, pkg.blob, `package ${pkg.name}@${pkg.version}`);
    for (const fn of manifest.functions) {
      for (const step of fn.options.image?.steps ?? []) {
        if (step.kind === "files") add(step.path, step.blob, `the files ${fn.name}'s image adds at "${step.path || "."}"`);
      }
    }
    return layers;
  }

  /** Refuses a manifest whose image is not built here: clients build it first (`image.build`), as the CLI does. */
  checkImages(manifest: AppManifest): void {
    if (!this.images) return;
    for (const fn of manifest.functions) {
      if (imageBuildSteps(fn.options.image).length === 0) continue;
      const hash = imageHash(fn.options.image);
      if (!this.images.isBuilt(hash)) {
        throw new RequestRefusedError(
          `function ${fn.name}: its image ${shortImageHash(hash)} is not built on this server; build it first (the image.build request; the stubrun CLI does it before it creates or deploys an app)`,
        );
      }
    }
  }

  /** Refuses a manifest that names a secret the server does not have, naming it and how to create it. */
  checkSecrets(manifest: AppManifest, env = DEFAULT_ENV): void {
    const missing = this.secrets?.missing(manifest.functions.flatMap((f) => f.options.secrets ?? []), env) ?? [];
    if (missing.length > 0) throw new RequestRefusedError(missingSecretMessage(missing));
  }
}
