import { readTokenFile, tokenFilePath } from "@stubrun/protocol";
import { randomBytes } from "node:crypto";
import fs from "node:fs";

/**
 * The server's local token: `$STUBRUN_HOME/token`, made at start when missing (32 random bytes,
 * hex, mode 0600 in a 0700 home). Clients on this machine read it (`clientToken`), so loopback
 * needs a credential too and a web page or another app's function cannot use the server.
 */
export function ensureLocalToken(home: string): string {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  tighten(home, 0o700);
  const file = tokenFilePath(home);
  const existing = readTokenFile(home);
  if (existing) {
    tighten(file, 0o600);
    return existing;
  }
  const token = randomBytes(32).toString("hex");
  // "wx": two servers starting at once must not each write their own token.
  try {
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: "wx" });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const written = readTokenFile(home);
  if (written) return written;
  // An empty file left by a crash: replace it.
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** Only the user may read the token: a home made by an older version may be open to others. */
function tighten(file: string, mode: number): void {
  try {
    if ((fs.statSync(file).mode & 0o777) !== mode) fs.chmodSync(file, mode);
  } catch {
    // not ours to change (a home set up by an administrator): leave it as it is
  }
}
