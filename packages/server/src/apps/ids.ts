import { randomBytes } from "node:crypto";

/** A short random id with a prefix saying what it names: `ap-` apps, `fc-` calls. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString("base64url").replace(/[-_]/g, "x").slice(0, 10)}`;
}

/** What an app id looks like: `ap-` and 10 letters or digits (see newId). */
export const APP_ID_PATTERN = /^ap-[A-Za-z0-9]{10}$/;
