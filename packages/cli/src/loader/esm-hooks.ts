/**
 * Module hooks (`module.register`) for a program that runs as ES modules, because it awaits at its
 * top level (esm.loader.ts). They run on Node's hooks thread, not in the program's, and speak with
 * the loader through `port`:
 *
 * - `stubrun` and `@stubrun/client` are the CLI's own `@stubrun/sdk`, as the require hook makes
 *   them (typescript.loader.ts): one registry for the program and the CLI.
 * - `./lib.js` finds `lib.ts` when there is no `lib.js`, as TypeScript written for ESM imports it.
 * - a `.ts` file is an ES module: the loader sends the ones its import scan found, compiled; any
 *   other (a computed `import()`, a package's) is compiled here, and a local one sent back to the
 *   loader for the upload. SWC loads on this thread only then: it costs some 20 ms.
 */
import fs from "node:fs";
import type { InitializeHook, LoadHook, ResolveHook } from "node:module";
import { fileURLToPath } from "node:url";
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { isLocal } from "./local-files";
import type { LoadedFile } from "./typescript.loader";

/** What the loader hands the hooks when it registers them. */
export interface EsmHooksData {
  /** The URL of the CLI's `@stubrun/sdk` entry. */
  sdkUrl: string;
  /** Both ways: `LoadedFile`s compiled by the loader come in, those compiled here go out. */
  port: MessagePort;
}

/** The code of a syntax error found on the hooks thread. */
export const SYNTAX_ERROR = "STUBRUN_SYNTAX_ERROR";

let data: EsmHooksData;
const compiledByLoader = new Map<string, string>();

export const initialize: InitializeHook<EsmHooksData> = (given) => {
  data = given;
};

const CLIENT_PACKAGES = new Set(["stubrun", "@stubrun/client"]);

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  if (CLIENT_PACKAGES.has(specifier)) return { url: data.sdkUrl, format: "commonjs", shortCircuit: true };
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (!/^\.\.?\//.test(specifier) || !context.parentURL?.startsWith("file:")) throw error;
    for (const candidate of typeScriptNames(specifier)) {
      try {
        return await nextResolve(candidate, context);
      } catch {
        // not this one either
      }
    }
    throw error;
  }
};

/** The TypeScript files a relative import may mean: `./a.js` is `./a.ts`, `./a` is `./a.ts` or `./a/index.ts`. */
function typeScriptNames(specifier: string): string[] {
  if (/\.(c|m)?jsx?$/.test(specifier)) return [specifier.replace(/\.(c|m)?js(x?)$/, ".$1ts$2")];
  if (/\.(c|m)?tsx?$/.test(specifier)) return [];
  return [`${specifier}.ts`, `${specifier}.tsx`, `${specifier}/index.ts`];
}

export const load: LoadHook = async (url, context, nextLoad) => {
  const file = url.startsWith("file:") ? fileURLToPath(url) : "";
  if (!/\.(m?ts|tsx)$/.test(file)) return nextLoad(url, context);
  // The loader posted its files before it imported the entry: they are all queued by now.
  for (let message = receiveMessageOnPort(data.port); message; message = receiveMessageOnPort(data.port)) {
    const loaded = message.message as LoadedFile;
    compiledByLoader.set(loaded.absolutePath, loaded.compiled);
  }
  const known = compiledByLoader.get(file);
  if (known !== undefined) return { format: "module", source: known, shortCircuit: true };
  const source = fs.readFileSync(file, "utf8");
  const compiled = compile(source, file);
  if (isLocal(file)) data.port.postMessage({ absolutePath: file, source, compiled, format: "module" } satisfies LoadedFile);
  return { format: "module", source: compiled, shortCircuit: true };
};

function compile(source: string, file: string): string {
  try {
    return (require("./compile") as typeof import("./compile")).compileTypeScript(source, file, "module");
  } catch (error) {
    // Its class does not cross to the program's thread; this code tells the loader it is a usage error.
    throw Object.assign(new Error((error as Error).message), { code: SYNTAX_ERROR });
  }
}
