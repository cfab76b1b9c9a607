import { DEFAULT_ENV, RequestRefusedError, type SecretRef, type SecretSummary } from "@stubrun/protocol";
import type { StateDatabase } from "./database";

/**
 * Secrets created with `stubrun secret create`: in the `secrets` table of `state.db`, which the
 * server keeps at file mode 0600 (see `openDatabase`). Values leave this class only as a
 * worker's environment (`envOf`); what the API lists is names, keys and dates.
 */
export class SecretsRepository {
  constructor(private readonly db: StateDatabase) {}

  /** Creates a secret; one of that name is an error unless `force`, which replaces its values. */
  put(name: string, values: Record<string, string>, force: boolean, env = DEFAULT_ENV, now = Date.now()): { created: boolean } {
    const existing = this.db.prepare("SELECT created_at FROM secrets WHERE env = ? AND name = ?").get(env, name) as { created_at: number } | undefined;
    if (existing && !force) throw new RequestRefusedError(`secret "${name}" already exists; replace its values with: npx stubrun secret create ${name} KEY=VALUE ... --force`);
    this.db
      .prepare("INSERT INTO secrets (env, name, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(env, name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at")
      .run(env, name, JSON.stringify(values), now, now);
    return { created: existing === undefined };
  }

  /** An environment's names, keys and dates, by name. */
  list(env = DEFAULT_ENV): SecretSummary[] {
    const rows = this.db.prepare("SELECT name, data, created_at, updated_at FROM secrets WHERE env = ? ORDER BY name").all(env) as Row[];
    return rows.map((r) => ({ name: r.name, keys: Object.keys(parse(r.data)), createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString() }));
  }

  /** False when there was no such secret. */
  delete(name: string, env = DEFAULT_ENV): boolean {
    return this.db.prepare("DELETE FROM secrets WHERE env = ? AND name = ?").run(env, name).changes > 0;
  }

  /** The names among `refs` that are not stored in environment `env`. */
  missing(refs: SecretRef[], env = DEFAULT_ENV): string[] {
    const has = this.db.prepare("SELECT 1 FROM secrets WHERE env = ? AND name = ?");
    const names = new Set(refs.flatMap((r) => (r.kind === "name" ? [r.name] : [])));
    return [...names].filter((name) => has.get(env, name) === undefined);
  }

  /**
   * The environment variables `refs` give, named secrets read in environment `appEnv`, applied
   * in order (a later key wins); throws naming a missing secret.
   */
  envOf(refs: SecretRef[], appEnv = DEFAULT_ENV): Record<string, string> {
    const env: Record<string, string> = {};
    const read = this.db.prepare("SELECT data FROM secrets WHERE env = ? AND name = ?");
    for (const ref of refs) {
      if (ref.kind === "object") {
        Object.assign(env, ref.values);
        continue;
      }
      const row = read.get(appEnv, ref.name) as { data: string } | undefined;
      if (!row) throw new RequestRefusedError(missingSecretMessage([ref.name]));
      Object.assign(env, parse(row.data));
    }
    return env;
  }
}

/** Names the missing secrets and how to create them. */
export function missingSecretMessage(names: string[]): string {
  const list = names.map((n) => `"${n}"`).join(", ");
  return `${names.length === 1 ? "secret" : "secrets"} ${list} ${names.length === 1 ? "does" : "do"} not exist on this server; create ${names.length === 1 ? "it" : "them"} with: ${names.map((n) => `npx stubrun secret create ${n} KEY=VALUE`).join("; ")}`;
}

interface Row {
  name: string;
  data: string;
  created_at: number;
  updated_at: number;
}

function parse(data: string): Record<string, string> {
  try {
    const value = JSON.parse(data) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, string>) : {};
  } catch {
    return {};
  }
}
