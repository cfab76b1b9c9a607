import "reflect-metadata";

export { Stub, type StubOptions } from "./stub";
export type { ParameterOptions } from "./decorators/parameter.decorator";
export { Secret } from "./secret";
export { Image, imageManifest, type LocalFilesStep, type PackLocalFiles } from "./image";
export { fn, type FunctionHandle, type MapOptions } from "./function-handle";
export { FunctionCall } from "./function-call";
export { Cron, Period } from "./schedules";
export type { FunctionOptions, WebEndpointOptions, RetryOptions } from "./function-options";
export { ServerConnection, type CallHandlers } from "./client/connection";
export { connectToServer, setServerStarter, type ServerStarter } from "./client/connect";
export { lookup, type LookupOptions } from "./lookup";
// The errors calls reject with, so that a program importing only the SDK (or @stubrun/client) can test for them.
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
  registerErrorClass,
} from "@stubrun/protocol";
export { setSessionProvider, currentSession, type AppSession } from "./session";
export { registry, type AnyClass, type MethodRef } from "./registry";
export { getFunctions, getEntrypoints, getHooks, getParamTypes, getParameters, getPropertyType } from "./metadata/readers";
export { applyClassParams } from "./class-params";
export type { FunctionEntry, LifecycleHooks, ParameterEntry } from "./metadata/types";
export { callsInFlight } from "./calls-in-flight";
export { markStubrunCli } from "./decorators/method-target";
