import { APP_NAME_PATTERN, requestedEnv, serverUrlFromEnv, UsageError, type ObjectRef } from "@stubrun/protocol";
import { sharedConnection } from "../client/shared-connection";
import { currentSession, hasSession } from "../session";
import type { ServerConnection } from "../client/connection";

export type ObjectKind = "Dict" | "Queue" | "Volume";

/**
 * Where a Dict's, Queue's or Volume's requests go: inside a stubrun app (a local entrypoint, a function),
 * the app's own connection, with its credential; in any other program, the process's shared
 * connection to `STUBRUN_SERVER_URL`, as `lookup()` uses. An ephemeral object is the app's:
 * its requests name the app, which the first one learns from the session.
 */
export class ObjectTarget {
  private constructor(
    readonly kind: ObjectKind,
    readonly name: string,
    readonly createIfMissing: boolean,
    private readonly ephemeral: boolean,
  ) {}

  static named(kind: ObjectKind, name: string, createIfMissing: boolean): ObjectTarget {
    if (typeof name !== "string" || !APP_NAME_PATTERN.test(name)) {
      throw new UsageError(`${kind} name ${JSON.stringify(name)} may only hold letters, digits, "-", "_" and ".", at most 64 characters`);
    }
    return new ObjectTarget(kind, name, createIfMissing, false);
  }

  /** An object of the app this process runs in, removed when the app stops. */
  static ephemeral(kind: ObjectKind): ObjectTarget {
    if (!hasSession()) {
      throw new UsageError(`${kind}.ephemeral() belongs to a stubrun app, and this process runs none: use it in a file run with npx stubrun, or use ${kind}.fromName(NAME, { createIfMissing: true })`);
    }
    const random = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    return new ObjectTarget(kind, `ephemeral-${random}`, true, true);
  }

  /** Sends one request on this object and resolves with its reply. */
  async send<R>(request: Record<string, unknown>): Promise<R> {
    const { connection, ref } = await this.connection();
    return connection.request<R>({ type: this.kind.toLowerCase(), ...ref, ...request } as never);
  }

  private async connection(): Promise<{ connection: ServerConnection; ref: ObjectRef }> {
    if (this.ephemeral) {
      const { connection, appId } = await currentSession();
      return { connection, ref: { name: this.name, app: appId } };
    }
    const connection = hasSession() ? (await currentSession()).connection : await sharedConnection(serverUrlFromEnv());
    return { connection, ref: { name: this.name, ...(this.createIfMissing ? { create: true } : {}), ...requestedEnv() } };
  }
}
