export { createCli, main, normalizeArgv } from "./cli";
