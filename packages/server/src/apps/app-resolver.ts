import { RequestRefusedError } from "@stubrun/protocol";
import type { AppRecord, AppsRepository } from "../state/apps.repository";

/**
 * The one rule for what `APP` means (SPEC §3), wherever a client names an app (the apps API,
 * web endpoints, `lookup()`, a worker's credential): an app id, else the deployed app of that
 * name, else the newest app of that name.
 */
export class AppResolver {
  constructor(private readonly appsRepo: AppsRepository) {}

  /** The app `ref` names, if any. */
  resolve(ref: string): AppRecord | undefined {
    return this.appsRepo.get(ref) ?? this.appsRepo.findDeployed(ref) ?? this.appsRepo.newestNamed(ref);
  }

  /** The app `ref` names, or a refusal that says how to see the apps there are. */
  require(ref: string): AppRecord {
    const app = this.resolve(ref);
    if (!app) throw new RequestRefusedError(unknownApp(ref));
    return app;
  }
}

/** What an unknown `APP` is answered with. */
export function unknownApp(ref: string): string {
  return `no app with id or name "${ref}"; see them with: npx stubrun app list`;
}
