import type { AppManifest, CodeFile } from "@stubrun/protocol";
import { registry } from "@stubrun/sdk";
import { ParamsReader } from "../run/entrypoint-params";
import { buildManifest } from "../run/manifest.builder";
import { bundleCode } from "./code-bundle";
import { TypeScriptLoader } from "./typescript.loader";

/** A user's file, loaded and ready to upload as an app. */
export interface AppUpload {
  manifest: AppManifest;
  files: CodeFile[];
  /** Absolute paths of the local files it is made of (what `serve` watches). */
  sources: string[];
  /** The names given to `new Stub()` in the file. */
  stubNames: string[];
}

/** Loads `file` (and its local imports) and makes its manifest and code bundle. */
export async function loadAppUpload(file: string): Promise<AppUpload> {
  const loader = new TypeScriptLoader();
  await loader.load(file);
  const params = new ParamsReader(loader.files.values());
  const bundle = bundleCode(file, loader.files.values());
  const stubNames = [...new Set(registry().stubs.map((s) => s.name).filter((n): n is string => !!n))];
  return {
    manifest: buildManifest(undefined, bundle, params),
    files: bundle.files,
    sources: [...loader.files.keys()],
    stubNames,
  };
}
