import { UsageError, type ClassParamValues } from "@stubrun/protocol";
import type { ServerConnection } from "./client/connection";

/** A running app that remote calls go to: the connection and the app's id. */
export interface AppSession {
  connection: ServerConnection;
  appId: string;
  /** A deployed app's version to call; its current one when absent. */
  version?: number;
  /** Values of the class's `@stub.parameter()` properties the calls run with (`.with({...})`). */
  params?: ClassParamValues;
}

type SessionProvider = () => Promise<AppSession>;
const GLOBAL_KEY = Symbol.for("stubrun.sessionProvider");
const holder = globalThis as { [GLOBAL_KEY]?: SessionProvider };

/** Set by the runner (CLI or worker): how remote calls find their app. */
export function setSessionProvider(provider: SessionProvider | undefined): void {
  holder[GLOBAL_KEY] = provider;
}

/** Whether this process runs inside a stubrun app (a run's local entrypoint, or a worker). */
export function hasSession(): boolean {
  return holder[GLOBAL_KEY] !== undefined;
}

/** The app that remote calls from this process go to. */
export function currentSession(): Promise<AppSession> {
  const provider = holder[GLOBAL_KEY];
  if (!provider) {
    return Promise.reject(
      new UsageError("no stubrun app is running in this process: run the file with \"npx stubrun FILE\" to call functions remotely, or use .local()"),
    );
  }
  return provider();
}
