import { DEFAULT_LIMITS, type ServerLimits } from "../config/limits";
import type { StateDatabase } from "./database";
import { WRITE_DELAY_MS } from "./write-delay";

/** One line (or chunk) of a call's output, as stored and as `app logs` shows it. */
export interface LogEntry {
  id: number;
  appId: string;
  callId: string | null;
  functionName: string | null;
  stream: "stdout" | "stderr" | "system";
  data: string;
  at: number;
}

interface LogRow {
  id: number;
  app_id: string;
  call_id: string | null;
  function: string | null;
  stream: LogEntry["stream"];
  data: string;
  at: number;
}

/** The limits the logs keep to: bytes of output per call (UTF-8), and lines per app. */
export type LogLimits = Pick<ServerLimits, "maxOutputBytesPerCall" | "maxLogLinesPerApp">;

/**
 * App logs in SQLite. Appends are queued and written in one transaction a moment later (write-delay.ts); followers
 * (`app logs --follow`, the apps page) are told of each entry once it has an id.
 */
export class LogsRepository {
  private queue: Omit<LogEntry, "id">[] = [];
  private scheduled = false;
  private readonly followers = new Map<string, Set<(entry: LogEntry) => void>>();
  private readonly bytesPerCall = new Map<string, number>();
  private readonly insertStmt;
  private appendsSincePrune = 0;

  constructor(
    private readonly db: StateDatabase,
    private readonly limits: LogLimits = DEFAULT_LIMITS,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS logs (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id   TEXT NOT NULL,
        call_id  TEXT,
        function TEXT,
        stream   TEXT NOT NULL,
        data     TEXT NOT NULL,
        at       INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS logs_by_app ON logs(app_id, id);
      CREATE INDEX IF NOT EXISTS logs_by_call ON logs(call_id, id) WHERE call_id IS NOT NULL;
    `);
    this.insertStmt = db.prepare("INSERT INTO logs (app_id, call_id, function, stream, data, at) VALUES (?, ?, ?, ?, ?, ?)");
  }

  append(entry: Omit<LogEntry, "id" | "at">): void {
    if (entry.callId) {
      // Bytes as stored and sent (UTF-8), not UTF-16 units: "é" is 2 bytes, an emoji 4.
      const max = this.limits.maxOutputBytesPerCall;
      const before = this.bytesPerCall.get(entry.callId) ?? 0;
      const bytes = Buffer.byteLength(entry.data, "utf8");
      this.bytesPerCall.set(entry.callId, before + bytes);
      if (before + bytes > max) {
        if (before <= max) {
          const room = max - before;
          const kept = room > 0 ? Buffer.from(entry.data, "utf8").subarray(0, room).toString("utf8").replace(/\uFFFD+$/, "") : "";
          if (kept) this.queue.push({ ...entry, data: kept, at: Date.now() });
          const note = `[stubrun: output of ${entry.callId} over ${max} bytes is not kept (limits.maxOutputBytesPerCall)]\n`;
          this.queue.push({ ...entry, stream: "system", data: note, at: Date.now() });
          this.bytesPerCall.set(entry.callId, max + 1);
        }
        return this.schedule();
      }
    }
    this.queue.push({ ...entry, at: Date.now() });
    this.schedule();
  }

  /** The call ended: its byte count is no longer needed. */
  callEnded(callId: string): void {
    this.bytesPerCall.delete(callId);
  }

  /**
   * The last `limit` entries of an app, oldest first, at most `maxBytes` of them as JSON: the
   * newest are kept, and `omitted` says how many older ones of the `limit` were left out. Rows
   * are read one at a time, so a large log is never held whole in memory.
   */
  recent(appId: string, limit = 200, maxBytes = Infinity): RecentLogs {
    return this.recentWhere("app_id", appId, limit, maxBytes);
  }

  /** The same for one call's own lines (its output, and the line saying why it failed). */
  recentOfCall(callId: string, limit = 200, maxBytes = Infinity): RecentLogs {
    return this.recentWhere("call_id", callId, limit, maxBytes);
  }

  private recentWhere(column: "app_id" | "call_id", value: string, limit: number, maxBytes: number): RecentLogs {
    this.flush();
    const entries: LogEntry[] = [];
    let bytes = 0;
    let full = false;
    for (const row of this.db.prepare(`SELECT * FROM logs WHERE ${column} = ? ORDER BY id DESC LIMIT ?`).iterate(value, limit) as IterableIterator<LogRow>) {
      const entry = toEntry(row);
      bytes += Buffer.byteLength(JSON.stringify(entry)) + 1;
      if (bytes > maxBytes) {
        full = true;
        break; // ends the iteration, which resets the statement
      }
      entries.push(entry);
    }
    let omitted = 0;
    if (full) {
      const { n } = this.db.prepare(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM logs WHERE ${column} = ? ORDER BY id DESC LIMIT ?)`).get(value, limit) as { n: number };
      omitted = n - entries.length;
    }
    return { entries: entries.reverse(), omitted };
  }

  /** Calls `listener` with each new entry of the app until the returned function is called. */
  follow(appId: string, listener: (entry: LogEntry) => void): () => void {
    let set = this.followers.get(appId);
    if (!set) this.followers.set(appId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.followers.delete(appId);
    };
  }

  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const written: LogEntry[] = [];
    this.db.transaction(() => {
      for (const e of batch) {
        const id = Number(this.insertStmt.run(e.appId, e.callId, e.functionName, e.stream, e.data, e.at).lastInsertRowid);
        written.push({ ...e, id });
      }
    })();
    for (const entry of written) this.followers.get(entry.appId)?.forEach((listener) => listener(entry));
    this.appendsSincePrune += batch.length;
    // Often enough that an app never holds much more than twice its lines.
    if (this.appendsSincePrune > Math.min(5_000, this.limits.maxLogLinesPerApp)) this.prune();
  }

  private prune(): void {
    this.appendsSincePrune = 0;
    this.db
      .prepare(
        `DELETE FROM logs WHERE id IN (
           SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY id DESC) AS n FROM logs) WHERE n > ?)`,
      )
      .run(this.limits.maxLogLinesPerApp);
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flush(), WRITE_DELAY_MS);
    }
  }
}

function toEntry(row: LogRow): LogEntry {
  return { id: row.id, appId: row.app_id, callId: row.call_id, functionName: row.function, stream: row.stream, data: row.data, at: row.at };
}

/** What `LogsRepository.recent` read: the newest entries that fit, and how many older ones did not. */
export interface RecentLogs {
  /** Oldest first. */
  entries: LogEntry[];
  /** Entries within the requested count left out because the answer would have passed its byte limit. */
  omitted: number;
}
