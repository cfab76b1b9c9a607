import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { EsmHooksData } from "./esm-hooks";

/**
 * A native `import()`. This package is compiled to CommonJS, where TypeScript would turn an
 * `import()` into a `require()`, which cannot load a module that awaits at its top level.
 */
const importModule = new Function("url", "return import(url)") as (url: string) => Promise<unknown>;

/**
 * Loads an uploaded entry that is an ES module (the CLI names those `.mjs`: the program awaits at
 * its top level), with esm-hooks.ts resolving its imports. Only such uploads start Node's hooks thread.
 */
export async function importEsmEntry(codeDir: string, entry: string, imageDir: string | undefined): Promise<void> {
  const data: EsmHooksData = { sdkUrl: pathToFileURL(require.resolve("@stubrun/sdk")).href, codeDir, imageDir };
  register(pathToFileURL(require.resolve("./esm-hooks")).href, { data });
  await importModule(pathToFileURL(path.join(codeDir, entry)).href);
}
