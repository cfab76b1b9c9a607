/**
 * Module hooks (`module.register`) for uploaded code that runs as ES modules (esm-loader.ts). They
 * run on Node's hooks thread and only resolve: the CLI compiled the files already, ES modules as
 * `.mjs` (the upload's root says CommonJS), so Node loads each in its own format.
 *
 * - `stubrun` and `@stubrun/client` are this worker's own `@stubrun/sdk`, as for require
 *   (module-resolution.ts): the registry the worker reads.
 * - `./lib.js` (or `./lib`) finds the uploaded `lib.mjs`.
 * - a bare import the code's folder cannot resolve comes from the function's image, as
 *   module-resolution.ts does for require.
 */
import type { InitializeHook, ResolveHook } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** What the worker hands the hooks when it registers them. */
export interface EsmHooksData {
  /** The URL of the worker's `@stubrun/sdk` entry. */
  sdkUrl: string;
  /** The uploaded code's directory, and the function's image, if it has one. */
  codeDir: string;
  imageDir?: string;
}

let data: EsmHooksData;

export const initialize: InitializeHook<EsmHooksData> = (given) => {
  data = given;
};

const CLIENT_PACKAGES = new Set(["stubrun", "@stubrun/client"]);

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  if (CLIENT_PACKAGES.has(specifier)) return { url: data.sdkUrl, format: "commonjs", shortCircuit: true };
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const from = context.parentURL?.startsWith("file:") ? fileURLToPath(context.parentURL) : undefined;
    if (!from || !from.startsWith(data.codeDir + path.sep)) throw error;
    for (const candidate of /^\.\.?\//.test(specifier) ? moduleNames(specifier) : []) {
      try {
        return await nextResolve(candidate, context);
      } catch {
        // not this one either
      }
    }
    // The image's packages: its node_modules alone, not the folders above it.
    if (data.imageDir === undefined || /^(\.|\/|[a-z]+:)/.test(specifier)) throw error;
    return nextResolve(specifier, { ...context, parentURL: pathToFileURL(path.join(data.imageDir, "node_modules", "__stubrun_resolve__.js")).href });
  }
};

/** The uploaded ES modules a relative import may mean: `./a.js` (or `.ts`) is `./a.mjs`, `./a` is `./a.mjs` or `./a/index.mjs`. */
function moduleNames(specifier: string): string[] {
  if (/\.(c|m)?(j|t)sx?$/.test(specifier)) return [specifier.replace(/\.(c|m)?(j|t)sx?$/, ".mjs")];
  return [`${specifier}.mjs`, `${specifier}/index.mjs`];
}
