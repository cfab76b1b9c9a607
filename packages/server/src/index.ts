export { startServer, type RunningServer, type ServerOptions } from "./server";
export { runServerProcess } from "./run-server";
export type { Dispatcher, CallRequest, CallObserver, CallOutcome } from "./dispatcher/dispatcher";
export { DEFAULT_LIMITS, loadLimits, configFilePath, type ServerLimits } from "./config/limits";
export { CodeCache, type CodeCacheOptions } from "./node/code-cache";
export { WorkerNode, type WorkerNodeOptions } from "./node/worker-node";
export type { CodeSource } from "./node/code-source";
export { redisConnection } from "./dispatcher/redis-url";
export { withoutPassword } from "./dispatcher/redis-url";
