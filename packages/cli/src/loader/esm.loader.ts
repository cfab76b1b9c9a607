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

/** The loader's end of the channel to esm-hooks.ts; set once the hooks are registered (once per process). */
let hooks: MessagePort | undefined;

/**
 * Runs `entry` as an ES module through esm-hooks.ts, which get `compiled` (the program's files,
 * already compiled to ES modules) first. Returns the local files the hooks had to compile
 * themselves (reached by a computed `import()`). Registering the hooks starts Node's hooks thread
 * (some 25 ms), so only a program that awaits at its top level comes this way.
 */
export async function importAsEsm(entry: string, compiled: LoadedFile[]): Promise<LoadedFile[]> {
  const port = registerHooks();
  for (const file of compiled) port.postMessage(file);
  await importModule(pathToFileURL(entry).href);
  const more: LoadedFile[] = [];
  // The hooks post a file before they hand it to Node, so all of them are queued by now.
  for (let message = receiveMessageOnPort(port); message; message = receiveMessageOnPort(port)) more.push(message.message as LoadedFile);
  return more;
}

function registerHooks(): MessagePort {
  if (hooks) return hooks;
  const { port1, port2 } = new MessageChannel();
  const data: EsmHooksData = { sdkUrl: pathToFileURL(require.resolve("@stubrun/sdk")).href, port: port2 };
  register(pathToFileURL(require.resolve("./esm-hooks")).href, { data, transferList: [port2] });
  port1.unref(); // read with receiveMessageOnPort: it must not keep the process alive
  return (hooks = port1);
}
