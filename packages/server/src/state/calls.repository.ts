import type { StateDatabase } from "./database";
import { WRITE_DELAY_MS } from "./write-delay";

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

/**
 * Records calls. Writes are queued and flushed in one transaction a moment later (write-delay.ts), so a `.map()` over
 * thousands of inputs costs a handful of transactions rather than one per call; a call that
 * starts and ends before its row is written is written once, with its final state (one INSERT
 * rather than an INSERT and an UPDATE: a tenth of the server's time in a `.map()` of short calls).
 * Waiters for a call's end (`whenEnded`) are told once its final row is written.
 */
export class CallsRepository {
  private readonly queue: (() => void)[] = [];
  private readonly unwritten = new Map<string, PendingInsert>();
  private scheduled = false;
  private readonly insertStmt;
  private readonly finishStmt;
  private readonly attemptStmt;
  private readonly getStmt;
  private readonly waiters = new Map<string, Set<() => void>>();
  private endedInBatch: string[] = [];

  constructor(private readonly db: StateDatabase) {
    this.insertStmt = db.prepare("INSERT INTO calls (id, app_id, function, state, attempts, created_at, ended_at, error, args, result, error_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    this.finishStmt = db.prepare("UPDATE calls SET state = ?, ended_at = ?, error = ?, result = ?, error_json = ? WHERE id = ?");
    this.attemptStmt = db.prepare("UPDATE calls SET attempts = ? WHERE id = ?");
    this.getStmt = db.prepare("SELECT * FROM calls WHERE id = ?");
  }

  /** @param args the encoded arguments as JSON (a preview), or null */
  started(id: string, appId: string, functionName: string, at: number, args: string | null = null): void {
    const row: PendingInsert = { id, appId, functionName, at, state: "running", attempts: 0, endedAt: null, error: null, args, result: null, errorJson: null };
    this.unwritten.set(id, row);
    this.enqueue(() => {
      this.unwritten.delete(id);
      this.insertStmt.run(row.id, row.appId, row.functionName, row.state, row.attempts, row.at, row.endedAt, row.error, row.args, row.result, row.errorJson);
    });
  }

  attempt(id: string, attempt: number): void {
    const row = this.unwritten.get(id);
    if (row) row.attempts = attempt;
    else this.enqueue(() => this.attemptStmt.run(attempt, id));
  }

  /** The call's end: its state, a one-line error, and what is kept to read it by id. */
  finished(id: string, state: Exclude<CallState, "running">, at: number, error?: string, kept: { result?: string | null; errorJson?: string | null } = {}): void {
    const row = this.unwritten.get(id);
    if (row) Object.assign(row, { state, endedAt: at, error: error ?? null, result: kept.result ?? null, errorJson: kept.errorJson ?? null });
    else this.enqueue(() => this.finishStmt.run(state, at, error ?? null, kept.result ?? null, kept.errorJson ?? null, id));
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

  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0);
    this.db.transaction(() => {
      for (const write of batch) write();
    })();
    if (this.endedInBatch.length === 0) return;
    const ended = this.endedInBatch;
    this.endedInBatch = [];
    for (const id of ended) this.waiters.get(id)?.forEach((listener) => listener());
  }

  private enqueue(write: () => void): void {
    this.queue.push(write);
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flush(), WRITE_DELAY_MS);
    }
  }
}

function toRecord(r: CallRow): CallRecord {
  return { id: r.id, functionName: r.function, state: r.state, attempts: r.attempts, createdAt: r.created_at, endedAt: r.ended_at, error: r.error };
}
