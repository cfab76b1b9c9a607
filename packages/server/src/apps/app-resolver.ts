import { DEFAULT_ENV, RequestRefusedError } from "@stubrun/protocol";
import type { AppRecord, AppsRepository } from "../state/apps.repository";

/**
 * The one rule for what `APP` means (SPEC §3), wherever a client names an app (the apps API,
 * web endpoints, `lookup()`, a worker's credential): an app id (in any environment), else the
 * deployed app of that name in the environment, else the newest app of that name there.
 */
export class AppResolver {
  constructor(private readonly appsRepo: AppsRepository) {}

  /** The app `ref` names, if any. */
  resolve(ref: string, env = DEFAULT_ENV): AppRecord | undefined {
    return this.appsRepo.get(ref) ?? this.appsRepo.findDeployed(ref, env) ?? this.appsRepo.newestNamed(ref, env);
  }

  /** The app `ref` names, or a refusal that says how to see the apps there are. */
  require(ref: string, env = DEFAULT_ENV): AppRecord {
    const app = this.resolve(ref, env);
    if (!app) throw new RequestRefusedError(unknownApp(ref, env));
    return app;
  }
}

/** What an unknown `APP` is answered with. */
export function unknownApp(ref: string, env = DEFAULT_ENV): string {
  const where = env === DEFAULT_ENV ? "" : ` in environment ${env}`;
  return `no app with id or name "${ref}"${where}; see them with: npx stubrun app list${env === DEFAULT_ENV ? "" : ` --env ${env}`}`;
}
