import { bundleCode, type CodeBundle } from "../loader/code-bundle";
import type { LoadedFile } from "../loader/typescript.loader";
import type { AppAssets } from "./app-assets";
import { uploadPath } from "./app-assets";
import { collectPackages, installBase } from "./package-collector";

/**
 * The app as it travels (SPEC §2, "an app is self-contained"): its compiled code, and the npm
 * packages it imports as installed here, each packed into `assets` and placed where Node finds it
 * from the code, so the worker resolves exactly what this machine resolved.
 */
export function bundleApp(entryFile: string, loaded: Iterable<LoadedFile>, assets: AppAssets): CodeBundle {
  const files = [...loaded];
  const packages = collectPackages(files);
  const bundle = bundleCode(entryFile, files, packages.map((p) => installBase(p.location)));
  bundle.packages = packages.map((p) => ({ name: p.name, version: p.version, path: uploadPath(bundle.root, p.location), blob: assets.addPackage(p.realDir) }));
  return bundle;
}
