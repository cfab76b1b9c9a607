import { randomBytes } from "node:crypto";

/**
 * Credentials scoped to one app: each app's workers get one as `STUBRUN_TOKEN`, so their nested
 * calls can reach the server, and nothing else of it. Kept in memory only; an app's token is
 * dropped when the app stops (a restarted server makes new ones).
 */
export class AppTokens {
  private readonly appByToken = new Map<string, string>();
  private readonly tokenByApp = new Map<string, string>();

  /** The app's token, made on first use. */
  forApp(appId: string): string {
    let token = this.tokenByApp.get(appId);
    if (!token) {
      token = `app.${randomBytes(32).toString("hex")}`;
      this.tokenByApp.set(appId, token);
      this.appByToken.set(token, appId);
    }
    return token;
  }

  /** The app a token belongs to, if it is one of these. */
  appOf(token: string): string | undefined {
    return this.appByToken.get(token);
  }

  /** The app stopped: its workers' token is refused from now on. */
  drop(appId: string): void {
    const token = this.tokenByApp.get(appId);
    if (token === undefined) return;
    this.tokenByApp.delete(appId);
    this.appByToken.delete(token);
  }
}
