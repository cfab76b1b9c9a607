import { register } from "node:module";
import { pathToFileURL } from "node:url";
import { MessageChannel, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import type { EsmHooksData } from "./esm-hooks";
import type { LoadedFile } from "./typescript.loader";

/**
 * A native `import()`. This package is compiled to CommonJS, where TypeScript would turn an
 * `import()` into a `require()`, which cannot load a module that awaits at its top level.
 */
const importModule = new Function("url", "return import(url)") as (url: string) => Promise<unknown>;

/** Where esm-hooks.ts posts the files it compiles; set once the hooks are registered (once per process). */
let files: MessagePort | undefined;

/**
 * Runs `entry` as an ES module, with esm-hooks.ts compiling the TypeScript it imports, and returns
 * the local files they compiled. Registering the hooks starts Node's hooks thread (tens of ms), so
 * only a program that awaits at its top level comes this way.
 */
export async function importAsEsm(entry: string): Promise<LoadedFile[]> {
  const port = registerHooks();
  await importModule(pathToFileURL(entry).href);
  const compiled: LoadedFile[] = [];
  // The hooks post a file before they hand it to Node, so all of them are queued by now.
  for (let message = receiveMessageOnPort(port); message; message = receiveMessageOnPort(port)) compiled.push(message.message as LoadedFile);
  return compiled;
}

function registerHooks(): MessagePort {
  if (files) return files;
  const { port1, port2 } = new MessageChannel();
  const data: EsmHooksData = { sdkUrl: pathToFileURL(require.resolve("@stubrun/sdk")).href, port: port2 };
  register(pathToFileURL(require.resolve("./esm-hooks")).href, { data, transferList: [port2] });
  port1.unref(); // read with receiveMessageOnPort: it must not keep the process alive
  return (files = port1);
}
