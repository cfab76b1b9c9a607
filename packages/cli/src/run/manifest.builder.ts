import type { AppManifest, FunctionManifest } from "@stubrun/protocol";
import { getFunctions, registry, type Stub } from "@stubrun/sdk";
import type { CodeBundle } from "../loader/code-bundle";
import type { ParamsReader } from "./entrypoint-params";

/** The manifest of the app: every function the loaded code decorated, with its options and parameters. */
export function buildManifest(stub: Stub | undefined, bundle: CodeBundle, params: ParamsReader): AppManifest {
  const functions: FunctionManifest[] = [];
  for (const cls of registry().allClasses()) {
    for (const entry of getFunctions(cls)) {
      functions.push({
        name: `${cls.name}.${entry.methodName}`,
        className: cls.name,
        methodName: entry.methodName,
        kind: entry.kind,
        webMethod: entry.webMethod,
        options: entry.options,
        params: params.params(cls, entry.methodName),
      });
    }
  }
  return { name: stub?.name, entry: bundle.entry, projectRoot: bundle.root, functions };
}
