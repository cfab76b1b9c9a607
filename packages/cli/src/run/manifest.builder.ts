import { nestedMountPaths, UsageError, volumeMountProblem, type AppManifest, type FunctionManifest, type VolumeMount } from "@stubrun/protocol";
import { getFunctions, imageManifest, registry, type PackLocalFiles, type Stub } from "@stubrun/sdk";
import type { CodeBundle } from "../loader/code-bundle";
import type { ParamsReader } from "./entrypoint-params";

/**
 * stubrun makes each instance itself, with no arguments (a worker's, a local entrypoint's): a
 * constructor that needs some would leave its fields undefined and fail later, far from the cause.
 */
function checkConstructible(cls: Function): void {
  if (cls.length === 0) return;
  const names = /constructor\s*\(([^)]*)\)/.exec(Function.prototype.toString.call(cls))?.[1].trim() || `${cls.length} parameter(s)`;
  throw new UsageError(
    `class ${cls.name}'s constructor takes parameters (${names}), but stubrun creates its instances with no arguments: give them defaults, or set them up in a method marked @stub.enter()`,
  );
}

/** The manifest of the app: every function the loaded code decorated, with its options and parameters. */
export function buildManifest(stub: Stub | undefined, bundle: CodeBundle, params: ParamsReader, pack: PackLocalFiles): AppManifest {
  const functions: FunctionManifest[] = [];
  for (const cls of registry().allClasses()) {
    checkConstructible(cls);
    const owner = registry().stubOf(cls);
    const stubSecrets = owner?.secrets ?? [];
    const classParams = params.classParams(cls);
    const required = classParams.filter((p) => p.required).map((p) => p.name);
    for (const entry of getFunctions(cls)) {
      if (entry.options.keepWarm > 0 && required.length > 0) {
        throw new UsageError(
          `@stub.function() on ${cls.name}.${entry.methodName}: keepWarm starts workers before any call, with the parameters' default values, ` +
            `but ${required.join(", ")} ${required.length === 1 ? "has" : "have"} none: give ${required.length === 1 ? "it a default" : "them defaults"}, or drop keepWarm`,
        );
      }
      // The stub's secrets, then the function's: the server applies them in order, so the function's win.
      const secrets = [...stubSecrets, ...(entry.options.secrets ?? [])];
      const { secrets: _own, volumes: ownVolumes, ...options } = entry.options;
      const volumes = mergeMounts(owner?.volumes ?? [], ownVolumes ?? [], `${cls.name}.${entry.methodName}`);
      if (volumes.length > 0 && options.network === false) {
        throw new UsageError(`@stub.function() on ${cls.name}.${entry.methodName}: it mounts Volumes and has network: false, but a worker loads and commits a Volume through the server: drop one of them`);
      }
      // The function's image replaces the stub's.
      const image = entry.image ?? owner?.image;
      functions.push({
        name: `${cls.name}.${entry.methodName}`,
        className: cls.name,
        methodName: entry.methodName,
        kind: entry.kind,
        webMethod: entry.webMethod,
        ...(entry.generator ? { generator: true } : {}),
        // The stub's memory and cpu are defaults: the function's own win.
        options: { ...owner?.resources, ...options, ...(secrets.length > 0 ? { secrets } : {}), ...(image ? { image: imageManifest(image, pack) } : {}), ...(volumes.length > 0 ? { volumes } : {}) },
        params: params.params(cls, entry.methodName),
        ...(classParams.length > 0 ? { classParams } : {}),
      });
    }
  }
  const manifest: AppManifest = { name: stub?.name, entry: bundle.entry, projectRoot: bundle.root, functions };
  if (bundle.packages.length > 0) manifest.packages = bundle.packages;
  return manifest;
}

/** The stub's Volumes and the function's own (which win at the same path), checked together: each path good, no nesting, each Volume once. */
function mergeMounts(stubMounts: VolumeMount[], own: VolumeMount[], where: string): VolumeMount[] {
  const byPath = new Map(stubMounts.map((m) => [m.path, m]));
  for (const m of own) byPath.set(m.path, m);
  const mounts = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const m of mounts) {
    const problem = volumeMountProblem(m.path);
    if (problem) throw new UsageError(`${where}: volumes: ${problem}`);
  }
  const nested = nestedMountPaths(mounts.map((m) => m.path));
  if (nested) throw new UsageError(`${where}: volumes: "${nested[1]}" is inside "${nested[0]}"; mount Volumes side by side`);
  const names = mounts.map((m) => m.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`${where}: volumes: Volume "${twice}" is mounted twice; mount it at one path`);
  return mounts;
}
