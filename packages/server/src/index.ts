export { startServer, type RunningServer, type ServerOptions } from "./server";
export { runServerProcess } from "./run-server";
export type { Dispatcher, CallRequest, CallObserver, CallOutcome } from "./dispatcher/dispatcher";
export { DEFAULT_LIMITS, loadLimits, configFilePath, type ServerLimits } from "./config/limits";
export { CodeCache, type CodeCacheOptions } from "./node/code-cache";
