import { RequestRefusedError, type DictReply, type DictRequest, type ObjectSummary, type QueueReply, type QueueRequest } from "@stubrun/protocol";
import type { StateDatabase } from "../state/database";
import type { ServerLimits } from "../config/limits";
import { DictStore } from "./dict.store";
import { ObjectRegistry, type ObjectKind, type ObjectRow } from "./object-registry";
import { QueueStore } from "./queue.store";

/**
 * The server's Dicts and Queues (issue 14 item 4): what the `dict` and `queue` requests of
 * clients and workers, and the `/api/dicts` and `/api/queues` routes, act on. They live in
 * `state.db`, so named ones outlive restarts; an app's ephemeral ones go when it stops.
 */
export class SharedObjects {
  private readonly registry: ObjectRegistry;
  readonly dicts: DictStore;
  readonly queues: QueueStore;

  constructor(
    private readonly db: StateDatabase,
    limits: Pick<ServerLimits, "maxDictEntries" | "maxQueueLength">,
    /** Whether an app runs: an ephemeral object belongs to a running app. */
    private readonly isRunning: (appId: string) => boolean,
  ) {
    this.registry = new ObjectRegistry(db);
    this.dicts = new DictStore(db, limits.maxDictEntries);
    this.queues = new QueueStore(db, limits.maxQueueLength);
  }

  dict(request: DictRequest): DictReply {
    return this.dicts.apply(this.resolve("Dict", request), request);
  }

  /** `owner`: the connection that asks, whose waiting `get`s end when it goes (`release`). */
  queue(request: QueueRequest, owner: unknown): QueueReply | Promise<QueueReply> {
    return this.queues.apply(this.resolve("Queue", request), request, owner);
  }

  release(owner: unknown): void {
    this.queues.release(owner);
  }

  list(kind: ObjectKind): ObjectSummary[] {
    return kind === "Dict"
      ? this.registry.list(kind, (row) => this.dicts.len(row.id))
      : this.registry.list(kind, (row) => this.queues.len(row.id), (row) => this.queues.partitions(row.id));
  }

  /** A named object (or `app`'s ephemeral one) as the HTTP API addresses it. */
  find(kind: ObjectKind, name: string, app?: string): ObjectRow | undefined {
    return this.registry.get(kind, name, app);
  }

  /** Deletes an object with its entries or values; false if there was none. */
  delete(kind: ObjectKind, row: ObjectRow): boolean {
    const removed = this.db.transaction(() => {
      if (kind === "Dict") this.dicts.clear(row.id);
      return this.registry.remove(kind, row.id);
    })();
    if (kind === "Queue") this.queues.removeValues(row.id, new RequestRefusedError(`Queue "${row.name}" was deleted while this get waited`));
    return removed;
  }

  /** An app stopped: its ephemeral objects go. */
  removeAppObjects(appId: string): void {
    for (const kind of ["Dict", "Queue"] as const) for (const id of this.registry.ofApp(kind, appId)) this.deleteById(kind, id);
  }

  /** At start, once apps are restored: ephemeral objects of apps that no longer run go. */
  removeOrphans(): void {
    for (const kind of ["Dict", "Queue"] as const) {
      const rows = this.registry.list(kind, () => 0);
      const running = new Set(rows.flatMap((r) => (r.app !== null && this.isRunning(r.app) ? [r.app] : [])));
      for (const id of this.registry.orphans(kind, running)) this.deleteById(kind, id);
    }
  }

  close(): void {
    this.queues.close();
  }

  private deleteById(kind: ObjectKind, id: string): void {
    const [app, name] = id.split("/");
    const row = this.registry.get(kind, name, app);
    if (row) this.delete(kind, row);
  }

  private resolve(kind: ObjectKind, request: DictRequest | QueueRequest): ObjectRow {
    if (request.app !== undefined && !this.isRunning(request.app)) {
      throw new RequestRefusedError(`app ${request.app} is not running: an ephemeral ${kind} lives only while its app runs`);
    }
    return this.registry.resolve(kind, request);
  }
}
