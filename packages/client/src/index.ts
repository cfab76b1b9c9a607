/**
 * @stubrun/client: call the functions of deployed stubrun apps from any Node program (a web
 * backend, a serverless function) with `lookup()`. No server, no compiler, no native addon: it
 * needs a stubrun server that already runs (SPEC §2 `lookup`); `npm install stubrun` for the
 * decorators, the CLI and the local server.
 */
export {
  lookup,
  FunctionCall,
  Dict,
  Queue,
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
} from "@stubrun/sdk";
export type { FunctionHandle, MapOptions, LookupOptions, GetOptions, CallLogLine, FromNameOptions, PartitionOption, QueueGetOptions } from "@stubrun/sdk";
