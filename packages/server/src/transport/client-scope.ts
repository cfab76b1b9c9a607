import { DEFAULT_ENV, RequestRefusedError, type ClientMessage } from "@stubrun/protocol";

/** What one connection may ask of the server, checked before each message is handled. */
export interface ClientScope {
  /** Throws a refusal naming what the connection's credential allows. */
  check(message: ClientMessage): void;
  /** The environment a request works in, given the one it names (if any). */
  env(requested: string | undefined): string;
}

/** A connection with the server's own token: anything, in the environment it names. */
export const FULL_ACCESS: ClientScope = { check: () => undefined, env: (requested) => requested ?? DEFAULT_ENV };

/** What an app scope needs to know of the server's apps. */
export interface ScopeLookups {
  /** The id of the app `ref` names in environment `env` (the one APP rule), if there is one. */
  appIdOf(ref: string, env: string): string | undefined;
  /** The environment an app lives in. */
  envOfApp(appId: string): string | undefined;
  /** The app a running call belongs to, if the call is running. */
  appOfCall(callId: string): string | undefined;
}

/**
 * A connection with a worker's credential (SPEC §2, issue 7 item 5): it may start and cancel
 * calls of its own app and look that app up (what `fn(...).remote()` and `lookup()` of the app's
 * own functions need), and use Dicts and Queues (named ones, and its app's ephemeral ones) and
 * Volumes, and
 * nothing else: no other app, no create, deploy or stop.
 */
export class AppScope implements ClientScope {
  constructor(
    readonly appId: string,
    private readonly lookups: ScopeLookups,
  ) {}

  check(message: ClientMessage): void {
    switch (message.type) {
      case "heartbeat":
        return;
      case "call.start":
        if (message.appId === this.appId) return;
        throw this.refusal(`a call of app ${message.appId}`);
      case "call.cancel": {
        // A call that is no longer running has nothing to cancel: that answer is harmless.
        const owner = this.lookups.appOfCall(message.callId);
        if (owner === undefined || owner === this.appId) return;
        throw this.refusal(`cancelling call ${message.callId} of another app`);
      }
      case "app.lookup":
        if (this.lookups.appIdOf(message.name, this.env(message.env)) === this.appId) return;
        throw this.refusal(`looking up app ${message.name}`);
      case "dict":
      case "queue":
        // Named Dicts and Queues are shared by every app; ephemeral ones only with their app.
        if (message.app === undefined || message.app === this.appId) return;
        throw this.refusal(`an ephemeral ${message.type === "dict" ? "Dict" : "Queue"} of app ${message.app}`);
      case "volume":
        // Volumes are named ones, shared by every app of the environment (its head only: content goes by /api/blobs).
        return;
      default:
        throw this.refusal(message.type);
    }
  }

  /** Its app's environment, always: a worker's Dicts and lookups are those of its app's environment. */
  env(requested: string | undefined): string {
    const own = (this.ownEnv ??= this.lookups.envOfApp(this.appId) ?? DEFAULT_ENV);
    if (requested !== undefined && requested !== own) throw this.refusal(`environment ${requested}`);
    return own;
  }

  private ownEnv: string | undefined;

  private refusal(what: string): RequestRefusedError {
    return new RequestRefusedError(
      `${what} is refused: this connection uses the credential of the workers of app ${this.appId} (their STUBRUN_TOKEN), ` +
        `which may only start and cancel calls of that app, look it up, and use named Dicts, Queues and Volumes and that app's ephemeral ones`,
    );
  }
}
