import os from "node:os";
import path from "node:path";

/** What every command needs from the environment, resolved once. */
export interface CliContext {
  /** `$STUBRUN_HOME`, default `~/.stubrun`. */
  home: string;
}

export function contextFromEnv(env: NodeJS.ProcessEnv = process.env): CliContext {
  return { home: path.resolve(env.STUBRUN_HOME || path.join(os.homedir(), ".stubrun")) };
}
