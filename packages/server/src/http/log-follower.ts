import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerLimits } from "../config/limits";
import type { LogEntry, LogsRepository } from "../state/logs.repository";

/** What following logs needs: the lines, whether more may come, and the limits. */
export interface LogFollowerContext {
  logs: LogsRepository;
  /** Whether more lines may come: the app (or call) runs, or is still stopping (its last lines are yet to come). */
  isLive(): boolean;
  /** One call's lines only, instead of the whole app's. */
  callId?: string;
  limits: Pick<ServerLimits, "maxLogBytesPerRequest" | "maxBufferedBytesPerClient" | "requestTimeoutMs">;
}

/**
 * Server-sent events: the recent entries, then each new one, then `end` when the app stops (or,
 * for one call's lines, when the call has ended). A
 * follower that does not read is not buffered for without bound: once more than
 * `limits.maxBufferedBytesPerClient` wait unsent, its stream ends with a `behind` event (follow
 * again to go on), and a connection that does not take even that is closed.
 */
export function followLogs(req: IncomingMessage, res: ServerResponse, ctx: LogFollowerContext, appId: string, limit: number): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
  let ended = false;
  const write = (text: string) => {
    if (ended) return;
    if (!res.write(text) && res.writableLength > ctx.limits.maxBufferedBytesPerClient) {
      finish(
        "behind",
        { error: `this follower fell behind: over ${ctx.limits.maxBufferedBytesPerClient} bytes were waiting for it (limits.maxBufferedBytesPerClient); follow again to go on` },
      );
    }
  };
  const send = (entry: LogEntry) => write(`event: log\ndata: ${JSON.stringify(entry)}\n\n`);
  const finish = (event: "end" | "behind", data: unknown) => {
    if (ended) return;
    ended = true;
    unfollow();
    clearInterval(watch);
    res.end(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // A client that reads nothing at all would hold what is buffered for it forever.
    const giveUp = setTimeout(() => res.destroy(), ctx.limits.requestTimeoutMs);
    giveUp.unref();
    res.once("close", () => clearTimeout(giveUp));
  };
  ctx.logs.flush(); // so nothing is both in `recent` and told to the follower
  let lastId = 0;
  const unfollow = ctx.logs.follow(appId, (entry) => {
    if (entry.id > lastId && (ctx.callId === undefined || entry.callId === ctx.callId)) send(entry);
  });
  // Ends the stream once the app has stopped and its last lines (exit hooks, "stopped") are out.
  let ticks = 0;
  const watch = setInterval(() => {
    if (!ctx.isLive()) {
      ctx.logs.flush();
      finish("end", {});
    } else if (++ticks % 40 === 0) {
      write(": keep-alive\n\n");
    }
  }, 250);
  const { entries, omitted } = ctx.callId === undefined ? ctx.logs.recent(appId, limit, ctx.limits.maxLogBytesPerRequest) : ctx.logs.recentOfCall(ctx.callId, limit, ctx.limits.maxLogBytesPerRequest);
  if (omitted > 0) write(`event: omitted\ndata: ${JSON.stringify({ omitted, reason: omittedReason(omitted, ctx.limits.maxLogBytesPerRequest) })}\n\n`);
  for (const entry of entries) {
    lastId = entry.id;
    send(entry);
  }
  if (!ctx.isLive()) finish("end", {});
  req.on("close", () => {
    ended = true;
    unfollow();
    clearInterval(watch);
  });
}

export function omittedReason(omitted: number, maxBytes: number): string {
  return `${omitted} older entries left out: an answer carries at most ${maxBytes} bytes of logs (limits.maxLogBytesPerRequest)`;
}
