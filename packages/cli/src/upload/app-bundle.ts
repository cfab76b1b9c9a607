import { UsageError } from "@stubrun/protocol";
import { getFunctions, Image, registry, type LocalFilesStep, type PackLocalFiles } from "@stubrun/sdk";
import fs from "node:fs";
import path from "node:path";
import { bundleCode, type CodeBundle } from "../loader/code-bundle";
import type { LoadedFile } from "../loader/typescript.loader";
import { uploadPath, type AppAssets } from "./app-assets";
import { collectPackages, installBase } from "./package-collector";

/**
 * The app as it travels (SPEC §2, "an app is self-contained"): its compiled code, the npm
 * packages it imports as installed here, and the files its images add. Packages and files are
 * packed into `assets` and land where they were relative to the code, so the worker resolves
 * and reads exactly what this machine did. Call it once the code is loaded (the registry full).
 */
export function bundleApp(entryFile: string, loaded: Iterable<LoadedFile>, assets: AppAssets): CodeBundle {
  const files = [...loaded];
  const packages = collectPackages(files);
  const added = localImageFiles().map((step) => (step.kind === "localFile" ? path.dirname(step.source) : step.source));
  const bundle = bundleCode(entryFile, files, [...packages.map((p) => installBase(p.location)), ...added]);
  bundle.packages = packages.map((p) => ({ name: p.name, version: p.version, path: uploadPath(bundle.root, p.location), blob: assets.addPackage(p.realDir) }));
  return bundle;
}

/**
 * Packs an image's `addLocalFile` or `addLocalDir` into `assets`: a file lands in the folder it
 * is in, a folder at its own place, both relative to the upload's root.
 */
export function packLocalFiles(bundle: CodeBundle, assets: AppAssets): PackLocalFiles {
  return (step) => {
    const method = step.kind === "localFile" ? "addLocalFile" : "addLocalDir";
    const stat = fs.statSync(step.source, { throwIfNoEntry: false });
    const wanted = step.kind === "localFile" ? stat?.isFile() : stat?.isDirectory();
    if (!wanted) {
      const what = step.kind === "localFile" ? "file" : "folder";
      const found = stat ? `a ${stat.isDirectory() ? "folder" : "special file"} is there, not a ${what}` : "nothing is there";
      throw new UsageError(`Image.${method}(${JSON.stringify(step.path)}): no ${what} at ${step.source} (${found}); the path is relative to the file that calls ${method}`);
    }
    if (step.kind === "localFile") return { path: uploadPath(bundle.root, path.dirname(step.source)), blob: assets.addFile(step.source) };
    return { path: uploadPath(bundle.root, step.source), blob: assets.addFolder(step.source) };
  };
}

/** The local files and folders that the loaded code's images add (the stubs' and the functions' own). */
function localImageFiles(): LocalFilesStep[] {
  const images = [...registry().stubs.map((s) => s.image), ...registry().allClasses().flatMap((cls) => getFunctions(cls).map((f) => f.image))];
  return images.flatMap((image) => (image ? Image.stepsOf(image) : [])).filter((step): step is LocalFilesStep => step.kind === "localFile" || step.kind === "localDir");
}
