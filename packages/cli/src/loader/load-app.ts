import type { AppManifest, CodeFile } from "@stubrun/protocol";
import { registry } from "@stubrun/sdk";
import { ParamsReader } from "../run/entrypoint-params";
import { buildManifest } from "../run/manifest.builder";
import { AppAssets } from "../upload/app-assets";
import { bundleApp, packLocalFiles } from "../upload/app-bundle";
import { useCompileCache } from "./compile-cache";
import { TypeScriptLoader } from "./typescript.loader";

/** A user's file, loaded and ready to upload as an app. */
export interface AppUpload {
  manifest: AppManifest;
  files: CodeFile[];
  /** Absolute paths of the local files it is made of (what `serve` watches). */
  sources: string[];
  /** The names given to `new Stub()` in the file. */
  stubNames: string[];
  /** The packages and files it carries, to upload before the app is made. */
  assets: AppAssets;
}

/** An AppUpload printed as JSON by another process (bundle-main.ts). */
export function uploadFromJson(text: string): AppUpload {
  const parsed = JSON.parse(text) as Omit<AppUpload, "assets"> & { assets: Parameters<typeof AppAssets.from>[0] };
  return { ...parsed, assets: AppAssets.from(parsed.assets) };
}

/**
 * Loads `file` (and its local imports) and makes its manifest and code bundle.
 * @param home `$STUBRUN_HOME`, where what SWC makes of the files is cached; none without it
 */
export async function loadAppUpload(file: string, home?: string): Promise<AppUpload> {
  if (home !== undefined) useCompileCache(home);
  const loader = new TypeScriptLoader();
  await loader.load(file);
  const params = new ParamsReader(loader.files.values());
  const assets = new AppAssets();
  const bundle = bundleApp(file, loader.files.values(), assets);
  const stubNames = [...new Set(registry().stubs.map((s) => s.name).filter((n): n is string => !!n))];
  return {
    manifest: buildManifest(undefined, bundle, params, packLocalFiles(bundle, assets)),
    files: bundle.files,
    sources: [...loader.files.keys()],
    stubNames,
    assets,
  };
}
