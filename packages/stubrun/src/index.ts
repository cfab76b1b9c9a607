/**
 * stubrun: write an ordinary class, mark methods with `@stub.function()` and
 * `@stub.localEntrypoint()`, and run it with `npx stubrun file.ts`.
 */
import { startDaemonAt } from "@stubrun/daemon";
import { setServerStarter } from "@stubrun/sdk";
import os from "node:os";
import path from "node:path";

export { Stub, fn, lookup, FunctionCall, Cron, Period, Secret, Image, Dict, Queue, Volume } from "@stubrun/sdk";
export type { StubOptions, FunctionHandle, MapOptions, FunctionOptions, WebEndpointOptions, RetryOptions, LookupOptions, GetOptions, CallLogLine, FromNameOptions, PartitionOption, QueueGetOptions } from "@stubrun/sdk";
export {
  StubrunError,
  UsageError,
  UncarriableValueError,
  ServerUnavailableError,
  RequestRefusedError,
  WorkerCrashedError,
  FunctionTimeoutError,
  CallCancelledError,
  WorkerStartError,
  CallWaitTimeoutError,
  registerErrorClass,
} from "@stubrun/protocol";

// Like the CLI, a program that uses lookup() starts the local daemon when nothing answers at a
// loopback STUBRUN_SERVER_URL. (The CLI sets its own starter; this is the default.)
setServerStarter(async (url) => {
  await startDaemonAt(path.resolve(process.env.STUBRUN_HOME || path.join(os.homedir(), ".stubrun")), url);
});
