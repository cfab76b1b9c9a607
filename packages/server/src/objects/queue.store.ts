import { RequestRefusedError, type Encoded, type QueueOp, type QueueReply } from "@stubrun/protocol";
import type { StateDatabase } from "../state/database";
import type { ObjectRow } from "./object-registry";

/** A `get` waiting for a value. */
interface Waiter {
  max: number;
  owner: unknown;
  done(values: Encoded[]): void;
  fail(error: Error): void;
  timer?: NodeJS.Timeout;
}

/**
 * The values of every Queue (`queue_items`, in order of `seq` within a queue's partition), and
 * the `get`s waiting on them. A put wakes the waiters of its partition in the order they came;
 * each takes its values in one statement, so no value is taken twice. A waiter goes when its
 * time is up (with no values), when its connection goes (`release`), or when its queue is
 * deleted (with an error).
 */
export class QueueStore {
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(
    private readonly db: StateDatabase,
    private readonly maxLength: number,
  ) {}

  /** `owner` is who waits (a client connection): its waits end when `release(owner)` is called. */
  apply(queue: ObjectRow, op: QueueOp, owner: unknown): QueueReply | Promise<QueueReply> {
    const partition = ("partition" in op ? op.partition : undefined) ?? "";
    switch (op.op) {
      case "put":
        this.put(queue, partition, op.values);
        return { len: this.len(queue.id, partition) };
      case "get":
        return this.get(queue, partition, op.max, op.timeoutMs, owner);
      case "len":
        return { len: this.len(queue.id, op.total === true ? undefined : partition) };
      case "clear": {
        const sql = op.all === true ? "DELETE FROM queue_items WHERE queue = ?" : "DELETE FROM queue_items WHERE queue = ? AND partition = ?";
        return { cleared: this.db.prepare(sql).run(...(op.all === true ? [queue.id] : [queue.id, partition])).changes };
      }
    }
  }

  /** Values in a partition, or in every partition without one. */
  len(queueId: string, partition?: string): number {
    const row = partition === undefined
      ? this.db.prepare("SELECT COUNT(*) AS n FROM queue_items WHERE queue = ?").get(queueId)
      : this.db.prepare("SELECT COUNT(*) AS n FROM queue_items WHERE queue = ? AND partition = ?").get(queueId, partition);
    return (row as { n: number }).n;
  }

  /** Values per partition. */
  partitions(queueId: string): Record<string, number> {
    const rows = this.db.prepare("SELECT partition, COUNT(*) AS n FROM queue_items WHERE queue = ? GROUP BY partition ORDER BY partition").all(queueId) as { partition: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.partition, r.n]));
  }

  /** The first `n` values of a partition, left in place (`stubrun queue peek`). */
  peek(queueId: string, partition: string, n: number): Encoded[] {
    const rows = this.db.prepare("SELECT value FROM queue_items WHERE queue = ? AND partition = ? ORDER BY seq LIMIT ?").all(queueId, partition, n) as { value: string }[];
    return rows.map((r) => JSON.parse(r.value) as Encoded);
  }

  /** Removes a deleted queue's values; its waiters fail with `error`. */
  removeValues(queueId: string, error: Error): void {
    this.db.prepare("DELETE FROM queue_items WHERE queue = ?").run(queueId);
    for (const [key, waiters] of this.waiters) {
      if (!key.startsWith(`${queueId}\0`)) continue;
      this.waiters.delete(key);
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.fail(error);
      }
    }
  }

  /** A connection went: its waits end (nobody is left to answer). */
  release(owner: unknown): void {
    for (const [key, waiters] of this.waiters) {
      const left = waiters.filter((w) => w.owner !== owner);
      for (const w of waiters) if (w.owner === owner) clearTimeout(w.timer);
      if (left.length === 0) this.waiters.delete(key);
      else this.waiters.set(key, left);
    }
  }

  /** Ends every wait (the server is closing). */
  close(): void {
    for (const waiters of this.waiters.values()) for (const w of waiters) clearTimeout(w.timer);
    this.waiters.clear();
  }

  private put(queue: ObjectRow, partition: string, values: Encoded[]): void {
    this.db.transaction(() => {
      if (this.len(queue.id) + values.length > this.maxLength) {
        throw new RequestRefusedError(`Queue "${queue.name}" would hold more than ${this.maxLength} values, the server's limit (maxQueueLength): get some first, or raise the limit in the server's config.json`);
      }
      const insert = this.db.prepare("INSERT INTO queue_items (queue, partition, value) VALUES (?, ?, ?)");
      for (const value of values) insert.run(queue.id, partition, JSON.stringify(value));
    })();
    this.wake(queue.id, partition);
  }

  private get(queue: ObjectRow, partition: string, max: number, timeoutMs: number | undefined, owner: unknown): QueueReply | Promise<QueueReply> {
    const key = waitKey(queue.id, partition);
    // Values go to whoever waited first: a new get takes none while others wait.
    if (!this.waiters.has(key)) {
      const values = this.take(queue.id, partition, max);
      if (values.length > 0 || timeoutMs === 0) return { values };
    } else if (timeoutMs === 0) return { values: [] };
    return new Promise<QueueReply>((resolve, reject) => {
      const waiter: Waiter = { max, owner, done: (values) => resolve({ values }), fail: reject };
      if (timeoutMs !== undefined) waiter.timer = setTimeout(() => this.expire(key, waiter), timeoutMs);
      const list = this.waiters.get(key) ?? [];
      list.push(waiter);
      this.waiters.set(key, list);
    });
  }

  private expire(key: string, waiter: Waiter): void {
    const list = this.waiters.get(key)?.filter((w) => w !== waiter) ?? [];
    if (list.length === 0) this.waiters.delete(key);
    else this.waiters.set(key, list);
    waiter.done([]);
  }

  private wake(queueId: string, partition: string): void {
    const key = waitKey(queueId, partition);
    const list = this.waiters.get(key);
    while (list && list.length > 0) {
      const values = this.take(queueId, partition, list[0].max);
      if (values.length === 0) break;
      const waiter = list.shift() as Waiter;
      clearTimeout(waiter.timer);
      waiter.done(values);
    }
    if (list?.length === 0) this.waiters.delete(key);
  }

  /** Removes and returns the first `max` values of a partition, in one statement. */
  private take(queueId: string, partition: string, max: number): Encoded[] {
    const rows = this.db
      .prepare("DELETE FROM queue_items WHERE seq IN (SELECT seq FROM queue_items WHERE queue = ? AND partition = ? ORDER BY seq LIMIT ?) RETURNING seq, value")
      .all(queueId, partition, max) as { seq: number; value: string }[];
    return rows.sort((a, b) => a.seq - b.seq).map((r) => JSON.parse(r.value) as Encoded);
  }
}

function waitKey(queueId: string, partition: string): string {
  return `${queueId}\0${partition}`;
}
