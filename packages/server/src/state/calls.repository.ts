import type { StateDatabase } from "./database";
import { WRITE_DELAY_MS } from "./write-delay";

export type CallState = "running" | "succeeded" | "failed" | "cancelled" | "timed_out";

/** A call as the apps page shows it. */
export interface CallRecord {
  id: string;
  functionName: string;
  state: CallState;
  attempts: number;
  createdAt: number;
  endedAt: number | null;
  error: string | null;
}

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
}

/**
 * Records calls. Writes are queued and flushed in one transaction a moment later (write-delay.ts), so a `.map()` over
 * thousands of inputs costs a handful of transactions rather than one per call; a call that
 * starts and ends before its row is written is written once, with its final state (one INSERT
 * rather than an INSERT and an UPDATE: a tenth of the server's time in a `.map()` of short calls).
 */
export class CallsRepository {
  private readonly queue: (() => void)[] = [];
  private readonly unwritten = new Map<string, PendingInsert>();
  private scheduled = false;
  private readonly insertStmt;
  private readonly finishStmt;
  private readonly attemptStmt;

  constructor(private readonly db: StateDatabase) {
    this.insertStmt = db.prepare("INSERT INTO calls (id, app_id, function, state, attempts, created_at, ended_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    this.finishStmt = db.prepare("UPDATE calls SET state = ?, ended_at = ?, error = ? WHERE id = ?");
    this.attemptStmt = db.prepare("UPDATE calls SET attempts = ? WHERE id = ?");
  }

  started(id: string, appId: string, functionName: string, at: number): void {
    const row: PendingInsert = { id, appId, functionName, at, state: "running", attempts: 0, endedAt: null, error: null };
    this.unwritten.set(id, row);
    this.enqueue(() => {
      this.unwritten.delete(id);
      this.insertStmt.run(row.id, row.appId, row.functionName, row.state, row.attempts, row.at, row.endedAt, row.error);
    });
  }

  attempt(id: string, attempt: number): void {
    const row = this.unwritten.get(id);
    if (row) row.attempts = attempt;
    else this.enqueue(() => this.attemptStmt.run(attempt, id));
  }

  finished(id: string, state: Exclude<CallState, "running">, at: number, error?: string): void {
    const row = this.unwritten.get(id);
    if (row) Object.assign(row, { state, endedAt: at, error: error ?? null });
    else this.enqueue(() => this.finishStmt.run(state, at, error ?? null, id));
  }

  /** The newest calls of an app, newest first. */
  recent(appId: string, limit = 50): CallRecord[] {
    this.flush();
    const rows = this.db
      .prepare("SELECT id, function, state, attempts, created_at, ended_at, error FROM calls WHERE app_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?")
      .all(appId, limit) as { id: string; function: string; state: CallState; attempts: number; created_at: number; ended_at: number | null; error: string | null }[];
    return rows.map((r) => ({ id: r.id, functionName: r.function, state: r.state, attempts: r.attempts, createdAt: r.created_at, endedAt: r.ended_at, error: r.error }));
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
  }

  private enqueue(write: () => void): void {
    this.queue.push(write);
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flush(), WRITE_DELAY_MS);
    }
  }
}
