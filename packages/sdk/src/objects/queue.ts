import { decodeValue, encodeValue, type Encoded, type QueueReply } from "@stubrun/protocol";
import type { FromNameOptions } from "./dict";
import { ObjectTarget } from "./object-target";

/** Which partition of a Queue: each is a queue of its own; the default one when absent. */
export interface PartitionOption {
  partition?: string;
}

/** Options of `get`, `getMany` and `iterate`. */
export interface QueueGetOptions extends PartitionOption {
  /** How long to wait for a value, in ms: forever when absent, not at all with 0. */
  timeoutMs?: number;
}

/**
 * A first-in first-out queue on the server that every function, entrypoint and program can
 * share (Modal's `modal.Queue`): `get` waits for a value, and each value goes to one getter.
 * Values are what arguments may be. Partitions (`{ partition: "p" }`) are independent queues
 * under one name. `Queue.fromName(name)` is named and stays until `stubrun queue delete`;
 * `Queue.ephemeral()` belongs to the running app and goes when it stops.
 */
export class Queue<T = unknown> {
  private constructor(private readonly target: ObjectTarget) {}

  /** The Queue called `name` on the server; nothing is sent until it is used. */
  static fromName<T = unknown>(name: string, options: FromNameOptions = {}): Queue<T> {
    return new Queue<T>(ObjectTarget.named("Queue", name, options.createIfMissing === true));
  }

  /** A Queue of the app this process runs in (a local entrypoint or a function), removed when the app stops. */
  static ephemeral<T = unknown>(): Queue<T> {
    return new Queue<T>(ObjectTarget.ephemeral("Queue"));
  }

  get name(): string {
    return this.target.name;
  }

  async put(value: T, options: PartitionOption = {}): Promise<void> {
    await this.putMany([value], options);
  }

  /** Puts the values in order, all or none. */
  async putMany(values: Iterable<T>, options: PartitionOption = {}): Promise<void> {
    const encoded = [...values].map((v, i) => encodeValue(v, `value ${i + 1} put on a Queue`));
    if (encoded.length === 0) return;
    await this.send({ op: "put", values: encoded, ...options });
  }

  /** Takes the next value, waiting for one (see `timeoutMs`); undefined when the time is up. */
  async get(options: QueueGetOptions = {}): Promise<T | undefined> {
    const [value] = await this.getMany(1, options);
    return value;
  }

  /** Takes up to `n` values, waiting (see `timeoutMs`) for the first; an empty array when the time is up. */
  async getMany(n: number, options: QueueGetOptions = {}): Promise<T[]> {
    const reply = await this.send({ op: "get", max: n, ...options });
    return (reply.values as Encoded[]).map((v) => decodeValue(v) as T);
  }

  /** Takes values as they come until none comes within `timeoutMs` (forever when absent). */
  async *iterate(options: QueueGetOptions = {}): AsyncGenerator<T> {
    for (;;) {
      const values = await this.getMany(100, options);
      if (values.length === 0) return;
      yield* values;
    }
  }

  /** How many values wait in the partition, or in all of them with `total`. */
  async len(options: PartitionOption & { total?: boolean } = {}): Promise<number> {
    return (await this.send({ op: "len", ...options })).len as number;
  }

  /** Removes the partition's values, or every partition's with `all`. */
  async clear(options: PartitionOption & { all?: boolean } = {}): Promise<void> {
    await this.send({ op: "clear", ...options });
  }

  private send(request: Record<string, unknown>): Promise<QueueReply> {
    return this.target.send<QueueReply>(request);
  }
}
