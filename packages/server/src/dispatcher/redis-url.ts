import { UsageError } from "@stubrun/protocol";
import type { ConnectionOptions } from "bullmq";

/**
 * BullMQ connection options from `redis://[USER:PASSWORD@]HOST[:PORT][/DB]` (the `--queue` flag).
 * `maxRetriesPerRequest: null`, as BullMQ's workers require: commands wait for Redis to come
 * back instead of failing, so a Redis restart pauses calls rather than losing them.
 */
export function redisConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--queue expects a Redis URL such as redis://127.0.0.1:6379, got ${withoutPassword(url)}`);
  }
  if (parsed.protocol !== "redis:") throw new UsageError(`--queue expects a redis:// URL, got ${withoutPassword(url)}`);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new UsageError(`--queue: the database in ${withoutPassword(url)} must be a number`);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db,
    maxRetriesPerRequest: null,
  };
}

/** A Redis URL as it may be shown: its credentials replaced by `***`. */
export function withoutPassword(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

/** A function's queue name: BullMQ refuses `:` in names, so anything but letters, digits, `_`, `.` and `-` becomes `_`. */
export function queueName(appId: string, functionName: string): string {
  return `stubrun-${appId}-${functionName}`.replace(/[^A-Za-z0-9_.-]/g, "_");
}
