export { startServer, type RunningServer, type ServerOptions } from "./server";
export { runServerProcess } from "./run-server";
export type { Dispatcher, CallRequest, CallObserver, CallOutcome } from "./dispatcher/dispatcher";
export { DEFAULT_LIMITS, loadLimits, configFilePath, type ServerLimits } from "./config/limits";
export { WorkerNode, type WorkerNodeOptions } from "./node/worker-node";
export type { CodeSource } from "./node/code-source";
export { NoCodeSource } from "./node/code-source";
export { SharedFolderCodeSource } from "./node/shared-folder-code-source";
export { redisConnection } from "./dispatcher/redis-url";
