import fs from "node:fs";
import path from "node:path";
import { removeUnusedBlobs } from "../code/blob.store";
import type { StateDatabase } from "./database";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Rows deleted per statement: each is its own short transaction, so calls and logs keep flowing. */
const CHUNK = 2_000;
/** A code folder (or a staging folder left by a crash) younger than this is never removed: an upload may be on its way to a row. */
const CODE_GRACE_MS = HOUR_MS;

/** What one sweep removed. */
export interface RetentionSweep {
  apps: number;
  calls: number;
  logs: number;
  codeDirs: number;
  blobs: number;
}

/**
 * Cleans up what nothing needs any more: the calls, logs, versions and row of each app stopped
 * more than `retentionDays` ago, then code folders no app or version refers to, then the blobs
 * (packages, added files) no code folder links; and, sooner, the results and errors kept of
 * calls (`callResultRetentionHours`). Deployed apps
 * (failed ones included) and their versions are never touched. Runs at start and every hour.
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<RetentionSweep | undefined> | undefined;
  private closed = false;

  constructor(
    private readonly db: StateDatabase,
    private readonly codeRoot: string,
    private readonly retentionDays: number,
    private readonly log: (line: string) => void = () => {},
    private readonly now: () => number = Date.now,
    private readonly resultRetentionHours = 24,
  ) {}

  /** Sweeps now, then every hour; the timer never keeps the process alive. */
  start(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), HOUR_MS);
    this.timer.unref();
  }

  /** Stops sweeping: a sweep under way stops at its next step, and this waits for it. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.sweeping;
  }

  private run(): Promise<RetentionSweep | undefined> {
    this.sweeping ??= this.sweep()
      .then((done) => {
        if (done.apps + done.codeDirs + done.blobs > 0) {
          this.log(`retention: removed ${done.apps} app(s) stopped over ${this.retentionDays} day(s) ago (${done.calls} calls, ${done.logs} log entries), ${done.codeDirs} unused code folder(s) and ${done.blobs} unused package or file set(s)`);
        }
        return done;
      })
      .catch((error: Error) => {
        this.log(`retention: sweep failed, will try again in an hour: ${error.message}`);
        return undefined;
      })
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** One sweep; resolves with what it removed. */
  async sweep(): Promise<RetentionSweep> {
    const done: RetentionSweep = { apps: 0, calls: 0, logs: 0, codeDirs: 0, blobs: 0 };
    // Results read by id go sooner than the call records (`limits.callResultRetentionHours`).
    this.db.prepare("UPDATE calls SET result = NULL, error_json = NULL WHERE ended_at < ? AND (result IS NOT NULL OR error_json IS NOT NULL)").run(this.now() - this.resultRetentionHours * HOUR_MS);
    const cutoff = this.now() - this.retentionDays * DAY_MS;
    const expired = this.db.prepare("SELECT id FROM apps WHERE state = 'stopped' AND stopped_at IS NOT NULL AND stopped_at < ? LIMIT 100");
    for (;;) {
      const ids = (expired.all(cutoff) as { id: string }[]).map((r) => r.id);
      if (ids.length === 0 || this.closed) break;
      for (const id of ids) {
        const removed = await this.removeApp(id);
        done.logs += removed.logs;
        done.calls += removed.calls;
        done.apps += removed.apps;
        if (this.closed) return done;
      }
    }
    if (!this.closed) done.codeDirs = this.removeUnusedCode();
    // Packages and added files live in blobs/ beside code/; once no code folder links them, they go too.
    // A Volume's head is used by no code folder, and stays; its earlier versions go.
    const heads = new Set((this.db.prepare("SELECT hash FROM volume_heads").all() as { hash: string }[]).map((r) => r.hash));
    if (!this.closed) done.blobs = removeUnusedBlobs(path.join(path.dirname(this.codeRoot), "blobs"), Date.now() - CODE_GRACE_MS, heads);
    return done;
  }

  /**
   * Removes a stopped app: its log lines and call records (in chunks, so other work goes on),
   * then its versions and its row, in one transaction that checks it is still stopped. Its code
   * folders go at the next sweep, unless another app uses them. `app delete` and the sweep use it.
   */
  async removeApp(id: string): Promise<{ apps: number; calls: number; logs: number }> {
    const deleteLogs = this.db.prepare(`DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE app_id = ? LIMIT ${CHUNK})`);
    const deleteCalls = this.db.prepare(`DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls WHERE app_id = ? LIMIT ${CHUNK})`);
    const logs = await this.inChunks(() => deleteLogs.run(id).changes);
    const calls = await this.inChunks(() => deleteCalls.run(id).changes);
    if (this.closed) return { apps: 0, calls, logs };
    const apps = this.db.transaction(() => {
      // Checked again in the transaction: only an app that is still stopped goes.
      const gone = this.db.prepare("DELETE FROM apps WHERE id = ? AND state = 'stopped'").run(id).changes;
      if (gone > 0) this.db.prepare("DELETE FROM app_versions WHERE app_id = ?").run(id);
      return gone;
    })();
    return { apps, calls, logs };
  }

  /** Runs `deleteChunk` until it deletes less than a chunk, letting other work run in between. */
  private async inChunks(deleteChunk: () => number): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.closed) return total;
      const n = deleteChunk();
      total += n;
      if (n < CHUNK) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Removes code folders that no app or version refers to. Synchronous from the query to the last
   * removal, so an upload (stored and recorded in one turn of the event loop) cannot slip between.
   */
  private removeUnusedCode(): number {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.codeRoot, { withFileTypes: true });
    } catch {
      return 0; // no code stored yet
    }
    const rows = this.db.prepare("SELECT code_dir FROM apps UNION SELECT code_dir FROM app_versions").all() as { code_dir: string }[];
    const used = new Set(rows.map((r) => path.basename(r.code_dir)));
    // File times are the real clock's, whatever clock decides which apps expired.
    const oldEnough = Date.now() - CODE_GRACE_MS;
    let removed = 0;
    for (const entry of entries) {
      if (!entry.isDirectory() || used.has(entry.name)) continue;
      const dir = path.join(this.codeRoot, entry.name);
      try {
        if (fs.statSync(dir).mtimeMs > oldEnough) continue;
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(`${dir}.json`, { force: true }); // its recipe (code.store.ts) goes with it
        removed++;
      } catch {
        // gone already, or not ours to remove: try again next sweep
      }
    }
    // A recipe whose folder never got there (a crash between the two renames of an upload).
    for (const entry of entries) {
      const folder = /^([0-9a-f]{32})\.json$/.exec(entry.name)?.[1];
      if (!entry.isFile() || !folder || fs.existsSync(path.join(this.codeRoot, folder))) continue;
      const file = path.join(this.codeRoot, entry.name);
      try {
        if (fs.statSync(file).mtimeMs <= oldEnough) fs.rmSync(file, { force: true });
      } catch {
        // gone already: nothing to do
      }
    }
    return removed;
  }
}
