import { RequestRefusedError, type DictReply, type DictRequest, type ObjectSummary, type QueueReply, type QueueRequest, type VolumeReply, type VolumeRequest } from "@stubrun/protocol";
import type { StateDatabase } from "../state/database";
import type { ServerLimits } from "../config/limits";
import { DictStore } from "./dict.store";
import { ObjectRegistry, type ObjectKind, type ObjectRow } from "./object-registry";
import { QueueStore } from "./queue.store";
import { VolumeStore } from "./volume.store";

/**
 * The server's Dicts, Queues (issue 14 item 4) and Volumes (item 5): what the `dict`, `queue`
 * and `volume` requests of clients and workers, and the `/api/dicts`, `/api/queues` and
 * `/api/volumes` routes, act on. They live in `state.db` (a Volume's content in the blob store),
 * so named ones outlive restarts; an app's ephemeral ones go when it stops.
 */
export class SharedObjects {
  private readonly registry: ObjectRegistry;
  readonly dicts: DictStore;
  readonly queues: QueueStore;
  readonly volumes: VolumeStore;

  constructor(
    private readonly db: StateDatabase,
    limits: Pick<ServerLimits, "maxDictEntries" | "maxQueueLength">,
    /** Whether an app runs: an ephemeral object belongs to a running app. */
    private readonly isRunning: (appId: string) => boolean,
    /** Whether the blob store holds a blob (a Volume's head must name one it does). */
    hasBlob: (hash: string) => boolean = () => false,
  ) {
    this.registry = new ObjectRegistry(db);
    this.dicts = new DictStore(db, limits.maxDictEntries);
    this.queues = new QueueStore(db, limits.maxQueueLength);
    this.volumes = new VolumeStore(db, hasBlob);
  }

  /** `env`: the environment of a named Dict (the request's, or a worker's app's). */
  dict(request: DictRequest, env: string): DictReply {
    return this.dicts.apply(this.resolve("Dict", request, env), request);
  }

  /** `owner`: the connection that asks, whose waiting `get`s end when it goes (`release`). */
  queue(request: QueueRequest, env: string, owner: unknown): QueueReply | Promise<QueueReply> {
    return this.queues.apply(this.resolve("Queue", request, env), request, owner);
  }

  /** `env`: the environment of the Volume (the request's, or a worker's app's). */
  volume(request: VolumeRequest, env: string): VolumeReply {
    return this.volumes.apply(this.resolve("Volume", request, env), request);
  }

  release(owner: unknown): void {
    this.queues.release(owner);
  }

  /** The objects of a kind, of one environment if given. */
  list(kind: ObjectKind, env?: string): ObjectSummary[] {
    if (kind === "Dict") return this.registry.list(kind, env, (row) => this.dicts.len(row.id));
    if (kind === "Queue") return this.registry.list(kind, env, (row) => this.queues.len(row.id), (row) => ({ partitions: this.queues.partitions(row.id) }));
    return this.registry.list(kind, env, (row) => this.volumes.head(row.id).version, (row) => ({ head: this.volumes.head(row.id).hash }));
  }

  /** A named object of `env` (or `app`'s ephemeral one) as the HTTP API addresses it. */
  find(kind: ObjectKind, name: string, env: string, app?: string): ObjectRow | undefined {
    return this.registry.get(kind, name, env, app);
  }

  /** Deletes an object with its entries or values; false if there was none. */
  delete(kind: ObjectKind, row: ObjectRow): boolean {
    const removed = this.db.transaction(() => {
      if (kind === "Dict") this.dicts.clear(row.id);
      if (kind === "Volume") this.volumes.remove(row.id);
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
      const rows = this.registry.list(kind, undefined, () => 0);
      const running = new Set(rows.flatMap((r) => (r.app !== null && this.isRunning(r.app) ? [r.app] : [])));
      for (const id of this.registry.orphans(kind, running)) this.deleteById(kind, id);
    }
  }

  close(): void {
    this.queues.close();
  }

  private deleteById(kind: ObjectKind, id: string): void {
    const [app, name] = id.split("/");
    const row = this.registry.get(kind, name, "", app);
    if (row) this.delete(kind, row);
  }

  private resolve(kind: ObjectKind, request: DictRequest | QueueRequest | VolumeRequest, env: string): ObjectRow {
    if (request.app !== undefined && !this.isRunning(request.app)) {
      throw new RequestRefusedError(`app ${request.app} is not running: an ephemeral ${kind} lives only while its app runs`);
    }
    return this.registry.resolve(kind, request, env);
  }
}
