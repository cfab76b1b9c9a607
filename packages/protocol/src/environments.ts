import { UsageError } from "./errors";
import { APP_NAME_PATTERN } from "./manifest";

/**
 * Environments (`--env NAME`, `STUBRUN_ENV`): namespaces on one server for apps, secrets,
 * Dicts, Queues and web endpoint URLs (Modal's environments). Ids stay global; names are
 * looked up within one environment.
 */
export const DEFAULT_ENV = "main";

/** An environment's name follows the app name rule. */
export const ENV_NAME_PATTERN = APP_NAME_PATTERN;

/** Why `name` cannot be an environment's name, or undefined. */
export function envNameProblem(name: string): string | undefined {
  return ENV_NAME_PATTERN.test(name) ? undefined : `environment name ${JSON.stringify(name)} may only hold letters, digits, "-", "_" and ".", at most 64 characters`;
}

/** The environment this process works in: `STUBRUN_ENV`, else "main". A bad name is a usage error. */
export function envFromProcess(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.STUBRUN_ENV || DEFAULT_ENV;
  const problem = envNameProblem(name);
  if (problem) throw new UsageError(`STUBRUN_ENV: ${problem}`);
  return name;
}

/**
 * The `env` field a client's request carries: the one `STUBRUN_ENV` names, or none, so the
 * server chooses ("main" for the CLI and programs; a worker's own app's environment).
 */
export function requestedEnv(env: NodeJS.ProcessEnv = process.env): { env?: string } {
  return env.STUBRUN_ENV ? { env: envFromProcess(env) } : {};
}
