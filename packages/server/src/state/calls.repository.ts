import type { Statement } from "better-sqlite3";
import type { StateDatabase } from "./database";
import { RUNNING_ROW_DELAY_MS, WRITE_DELAY_MS } from "./write-delay";

export type CallState = "running" | "succeeded" | "failed" | "cancelled" | "timed_out";

/** A call as the apps page lists it. */
export interface CallRecord {
  id: string;
  functionName: string;
  state: CallState;
  attempts: number;
  createdAt: number;
  endedAt: number | null;
  error: string | null;
}

/** A call with what was kept of its arguments and outcome (`GET /api/calls/ID`, the call's page). */
export interface StoredCall extends CallRecord {
  appId: string;
  /** The encoded arguments as JSON, cut to a preview; null when none were kept. */
  args: string | null;
  /** The encoded result as JSON, when it was kept (and not yet cleared by retention). */
  result: string | null;
  /** The error as JSON (`WireError`: name, message, stack, code). */
  errorJson: string | null;
}

/** Which of an app's calls to list. */
export interface CallFilter {
  functionName?: string;
  state?: CallState;
}

/** One finished call, as the figures read it. */
export interface CallTiming {
  functionName: string;
  state: CallState;
  createdAt: number;
  endedAt: number;
}

interface CallRow {
  id: string;
  app_id: string;
  function: string;
  state: CallState;
  attempts: number;
  created_at: number;
  ended_at: number | null;
  error: string | null;
  args: string | null;
  result: string | null;
  error_json: string | null;
}

/** The states a filter may name. */
export const CALL_STATES: readonly CallState[] = ["running", "succeeded", "failed", "cancelled", "timed_out"];

/** A call whose row is not written yet. */
interface PendingInsert {
  /** Its rowid: rows are in the order calls started (the order of calls in the same ms), whenever each is written. */
  rowid: number;
  id: string;
  appId: string;
  functionName: string;
  at: number;
  state: CallState;
  attempts: number;
  endedAt: number | null;
  error: string | null;
  args: string | null;
  result: string | null;
  errorJson: string | null;
}

/** The columns of a call's row, in the order the INSERT names them. */
const COLUMNS = "(rowid, id, app_id, function, state, attempts, created_at, ended_at, error, args, result, error_json)";
const ROW_PARAMS = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/** The most rows one INSERT writes; a batch goes in INSERTs of 64, 32, ... 1 rows (a handful of prepared statements). */
const ROWS_PER_INSERT = 64;

/**
 * Records calls. Writes are queued and flushed in one transaction a moment later (write-delay.ts), so a `.map()` over
 * thousands of inputs costs a handful of transactions rather than one per call; a call that
 * starts and ends before its row is written is written once, with its final state (one INSERT
 * rather than an INSERT and an UPDATE: a tenth of the server's time in a `.map()` of short calls).
 * A running call's row waits up to RUNNING_ROW_DELAY_MS for its end (a `.map()`'s calls wait in
 * their queue for tens of ms), and rows go many to an INSERT. Readers flush first, so they see
 * every call. Waiters for a call's end (`whenEnded`) are told once its final row is written.
 */
export class CallsRepository {
  /** Updates of rows already written, in order. */
  private readonly updates: (() => void)[] = [];
  /** Rows of running calls not written yet, oldest first. */
  private readonly running = new Map<string, PendingInsert>();
  /** Rows of calls that ended before their row was written. */
  private ended: PendingInsert[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When `timer` fires (Date.now() ms). */
  private dueAt = 0;
  /** INSERTs of 1, 2, 4 ... ROWS_PER_INSERT rows, prepared on first use. */
  private readonly insertStmts = new Map<number, Statement>();
  private readonly finishStmt;
  private readonly attemptStmt;
  private readonly getStmt;
  private readonly waiters = new Map<string, Set<() => void>>();
  private endedInBatch: string[] = [];
  /** The last rowid given. */
  private lastRowid: number;

  constructor(private readonly db: StateDatabase) {
    this.lastRowid = (db.prepare("SELECT coalesce(max(rowid), 0) AS n FROM calls").get() as { n: number }).n;
    this.finishStmt = db.prepare("UPDATE calls SET state = ?, ended_at = ?, error = ?, result = ?, error_json = ? WHERE id = ?");
    this.attemptStmt = db.prepare("UPDATE calls SET attempts = ? WHERE id = ?");
    this.getStmt = db.prepare("SELECT * FROM calls WHERE id = ?");
  }

  /** @param args the encoded arguments as JSON (a preview), or null */
  started(id: string, appId: string, functionName: string, at: number, args: string | null = null): void {
    this.running.set(id, { rowid: ++this.lastRowid, id, appId, functionName, at, state: "running", attempts: 0, endedAt: null, error: null, args, result: null, errorJson: null });
    this.schedule(RUNNING_ROW_DELAY_MS);
  }

  attempt(id: string, attempt: number): void {
    const row = this.running.get(id);
    if (row) row.attempts = attempt;
    else this.enqueue(() => this.attemptStmt.run(attempt, id));
  }

  /** The call's end: its state, a one-line error, and what is kept to read it by id. */
  finished(id: string, state: Exclude<CallState, "running">, at: number, error?: string, kept: { result?: string | null; errorJson?: string | null } = {}): void {
    const row = this.running.get(id);
    if (row) {
      this.running.delete(id);
      row.state = state;
      row.endedAt = at;
      row.error = error ?? null;
      row.result = kept.result ?? null;
      row.errorJson = kept.errorJson ?? null;
      this.ended.push(row);
      this.schedule(WRITE_DELAY_MS);
    } else this.enqueue(() => this.finishStmt.run(state, at, error ?? null, kept.result ?? null, kept.errorJson ?? null, id));
    if (this.waiters.has(id)) this.endedInBatch.push(id);
  }

  /** One call, by id. */
  get(id: string): StoredCall | undefined {
    this.flush();
    const row = this.getStmt.get(id) as CallRow | undefined;
    return row && { ...toRecord(row), appId: row.app_id, args: row.args, result: row.result, errorJson: row.error_json };
  }

  /** Calls `listener` once the call's end is written; returns a function that stops waiting. */
  whenEnded(id: string, listener: () => void): () => void {
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
    };
  }

  /** The newest calls of an app, newest first, of one function or state when asked. */
  recent(appId: string, limit = 50, filter: CallFilter = {}): CallRecord[] {
    this.flush();
    const where = ["app_id = ?"];
    const params: unknown[] = [appId];
    if (filter.functionName !== undefined) where.push("function = ?"), params.push(filter.functionName);
    if (filter.state !== undefined) where.push("state = ?"), params.push(filter.state);
    const rows = this.db
      .prepare(`SELECT id, function, state, attempts, created_at, ended_at, error FROM calls WHERE ${where.join(" AND ")} ORDER BY created_at DESC, rowid DESC LIMIT ?`)
      .all(...params, limit) as CallRow[];
    return rows.map(toRecord);
  }

  /** The app's calls that ended since `since` (ms), oldest first: what the figures are made of. */
  endedSince(appId: string, since: number): CallTiming[] {
    this.flush();
    const rows = this.db
      .prepare("SELECT function, state, created_at, ended_at FROM calls WHERE app_id = ? AND created_at >= ? AND ended_at IS NOT NULL ORDER BY ended_at")
      .all(appId, since - 86_400_000) as CallRow[];
    return rows
      .filter((r) => (r.ended_at as number) >= since)
      .map((r) => ({ functionName: r.function, state: r.state, createdAt: r.created_at, endedAt: r.ended_at as number }));
  }

  /** Calls left running by a server that stopped: they can never finish now. */
  failOrphans(at: number): void {
    this.db.prepare("UPDATE calls SET state = 'failed', ended_at = ?, error = 'the server stopped while the call was running' WHERE state = 'running'").run(at);
  }

  /** Writes every queued row and update now (readers call this first, and the server as it stops). */
  flush(): void {
    this.write(Infinity);
  }

  /**
   * Writes, in one transaction, the rows of calls that ended, of running calls that started at
   * least RUNNING_ROW_DELAY_MS before `now` (`Infinity`: all), and the queued updates; then tells
   * the waiters of calls whose end was written.
   */
  private write(now: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.ended;
    this.ended = [];
    for (const row of this.running.values()) {
      if (now - row.at < RUNNING_ROW_DELAY_MS) break; // the rest started later still
      rows.push(row);
      this.running.delete(row.id);
    }
    if (rows.length > 0 || this.updates.length > 0) {
      const updates = this.updates.splice(0);
      this.db.transaction(() => {
        this.insert(rows);
        for (const update of updates) update();
      })();
    }
    const oldest = this.running.values().next();
    if (!oldest.done) this.schedule(oldest.value.at + RUNNING_ROW_DELAY_MS - Date.now());
    if (this.endedInBatch.length === 0) return;
    const ended = this.endedInBatch;
    this.endedInBatch = [];
    for (const id of ended) this.waiters.get(id)?.forEach((listener) => listener());
  }

  /** INSERTs the rows, up to ROWS_PER_INSERT at a time. */
  private insert(rows: PendingInsert[]): void {
    for (let from = 0; from < rows.length; ) {
      let n = ROWS_PER_INSERT;
      while (n > rows.length - from) n /= 2;
      const params: unknown[] = [];
      for (let i = from; i < from + n; i++) {
        const r = rows[i];
        params.push(r.rowid, r.id, r.appId, r.functionName, r.state, r.attempts, r.at, r.endedAt, r.error, r.args, r.result, r.errorJson);
      }
      this.insertStatement(n).run(params);
      from += n;
    }
  }

  private insertStatement(rows: number): Statement {
    let stmt = this.insertStmts.get(rows);
    if (!stmt) {
      stmt = this.db.prepare(`INSERT INTO calls ${COLUMNS} VALUES ${Array.from({ length: rows }, () => ROW_PARAMS).join(", ")}`);
      this.insertStmts.set(rows, stmt);
    }
    return stmt;
  }

  private enqueue(update: () => void): void {
    this.updates.push(update);
    this.schedule(WRITE_DELAY_MS);
  }

  /** Makes sure a write comes within `ms` (an earlier one stays). */
  private schedule(ms: number): void {
    const due = Date.now() + Math.max(ms, WRITE_DELAY_MS);
    if (this.timer !== undefined && this.dueAt <= due) return;
    clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(() => this.write(Date.now()), due - Date.now());
  }
}

function toRecord(r: CallRow): CallRecord {
  return { id: r.id, functionName: r.function, state: r.state, attempts: r.attempts, createdAt: r.created_at, endedAt: r.ended_at, error: r.error };
}
