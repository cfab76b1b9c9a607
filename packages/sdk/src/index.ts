import "reflect-metadata";

export { Stub, type StubOptions } from "./stub";
export type { ParameterOptions } from "./decorators/parameter.decorator";
export { Secret } from "./secret";
export { Image, imageManifest, type LocalFilesStep, type PackLocalFiles } from "./image";
export { fn, type FunctionHandle, type MapOptions } from "./function-handle";
export { FunctionCall, type GetOptions, type CallLogLine } from "./function-call";
export { Dict, type FromNameOptions } from "./objects/dict";
export { Queue, type PartitionOption, type QueueGetOptions } from "./objects/queue";
export { Volume, mountVolumes } from "./objects/volume";
export { Cron, Period } from "./schedules";
export type { FunctionOptions, WebEndpointOptions, RetryOptions } from "./function-options";
export { ServerConnection, type CallHandlers } from "./client/connection";
export { connectToServer, setServerStarter, type ServerStarter } from "./client/connect";
export { lookup, lookupFunction, type LookupOptions, type FoundFunction } from "./lookup";
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
  CallWaitTimeoutError,
  registerErrorClass,
} from "@stubrun/protocol";
export { setSessionProvider, currentSession, type AppSession } from "./session";
export { registry, type AnyClass, type MethodRef } from "./registry";
export { getFunctions, getEntrypoints, getHooks, getParamTypes, getParameters, getPropertyType } from "./metadata/readers";
export { applyClassParams } from "./class-params";
export type { FunctionEntry, LifecycleHooks, ParameterEntry } from "./metadata/types";
export { callsInFlight } from "./calls-in-flight";
export { markStubrunCli } from "./decorators/method-target";
