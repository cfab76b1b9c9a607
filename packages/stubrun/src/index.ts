/**
 * stubrun: write an ordinary class, mark methods with `@stub.function()` and
 * `@stub.localEntrypoint()`, and run it with `npx stubrun file.ts`.
 */
export { Stub, fn, FunctionCall, Cron, Period } from "@stubrun/sdk";
export type { FunctionHandle, MapOptions, FunctionOptions, WebEndpointOptions, RetryOptions } from "@stubrun/sdk";
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
} from "@stubrun/protocol";
