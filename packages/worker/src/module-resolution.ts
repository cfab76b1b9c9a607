import Module from "node:module";
import path from "node:path";

interface ParentModule {
  id?: string;
  filename?: string | null;
  paths?: string[];
}
type ResolveFilename = (request: string, parent: ParentModule | undefined, isMain: boolean, options?: unknown) => string;
const internals = Module as unknown as { _resolveFilename: ResolveFilename; _nodeModulePaths(dir: string): string[] };

/** A stand-in parent module in `dir`, so resolution starts there. */
function parentIn(dir: string): ParentModule {
  const filename = path.join(dir, "__stubrun_resolve__.js");
  return { id: filename, filename, paths: internals._nodeModulePaths(dir) };
}

/**
 * What uploaded code gets when it imports `stubrun` (or `@stubrun/client`): this worker's
 * own SDK, a declared dependency. It exports everything a function's code may use of `stubrun`
 * (Stub, the decorators, lookup, FunctionCall, schedules, errors) and it is the copy whose
 * registry and session the worker reads. The worker does not resolve the `stubrun` package
 * itself: that package depends on the server, which depends on the worker, and it adds only the
 * CLI and the daemon starter, which have no place in a worker.
 */
const CLIENT_PACKAGES = new Set(["stubrun", "@stubrun/client"]);

/**
 * Makes uploaded code resolve `stubrun` to this worker's own SDK (above). Everything else
 * resolves as Node does, inside the code's folder: the npm packages the app imports travel with
 * it and sit in that folder's node_modules, so nothing is read from the client's disk. A bare
 * import the code's folder cannot resolve falls back to the function's image, if it has one.
 */
export function installModuleResolution(imageDir?: string): void {
  const resolve = internals._resolveFilename;
  const workerDir = parentIn(__dirname);
  internals._resolveFilename = function (request, parent, isMain, options) {
    if (CLIENT_PACKAGES.has(request)) return resolve.call(this, "@stubrun/sdk", workerDir, false);
    try {
      return resolve.call(this, request, parent, isMain, options);
    } catch (error) {
      // The image's packages (SPEC §2 Images): its node_modules alone, not the folders above it.
      if (imageDir === undefined || request.startsWith(".") || path.isAbsolute(request)) throw error;
      const image = { id: imageDir, filename: path.join(imageDir, "__stubrun_resolve__.js"), paths: [path.join(imageDir, "node_modules")] };
      try {
        return resolve.call(this, request, image, false, options);
      } catch {
        throw error; // not in the image either: Node's own message, naming the importing file
      }
    }
  };
}
