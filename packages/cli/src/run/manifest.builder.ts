import type { AppManifest, FunctionManifest } from "@stubrun/protocol";
import { getFunctions, registry, type Stub } from "@stubrun/sdk";
import type { CodeBundle } from "../loader/code-bundle";
import type { ParamsReader } from "./entrypoint-params";

/** The manifest of the app: every function the loaded code decorated, with its options and parameters. */
export function buildManifest(stub: Stub | undefined, bundle: CodeBundle, params: ParamsReader): AppManifest {
  const functions: FunctionManifest[] = [];
  for (const cls of registry().allClasses()) {
    const stubSecrets = registry().stubOf(cls)?.secrets ?? [];
    for (const entry of getFunctions(cls)) {
      // The stub's secrets, then the function's: the server applies them in order, so the function's win.
      const secrets = [...stubSecrets, ...(entry.options.secrets ?? [])];
      const { secrets: _own, ...options } = entry.options;
      functions.push({
        name: `${cls.name}.${entry.methodName}`,
        className: cls.name,
        methodName: entry.methodName,
        kind: entry.kind,
        webMethod: entry.webMethod,
        options: secrets.length > 0 ? { ...options, secrets } : options,
        params: params.params(cls, entry.methodName),
      });
    }
  }
  const manifest: AppManifest = { name: stub?.name, entry: bundle.entry, projectRoot: bundle.root, functions };
  if (bundle.packages.length > 0) manifest.packages = bundle.packages;
  return manifest;
}
