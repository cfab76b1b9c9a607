/** The worker runs as its own process: see main.ts. */
export const WORKER_MAIN = require.resolve("./main");
