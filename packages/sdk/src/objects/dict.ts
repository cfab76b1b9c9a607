import { decodeValue, encodeValue, type DictReply, type Encoded } from "@stubrun/protocol";
import { ObjectTarget } from "./object-target";

/** Options of `Dict.fromName` and `Queue.fromName`. */
export interface FromNameOptions {
  /** Create it when no object of that name exists (else the first use is an error that says so). @default false */
  createIfMissing?: boolean;
}

/** How many times `update` tries before it gives up: others changed the key each time in between. */
const MAX_UPDATE_ATTEMPTS = 1_000;

/**
 * A key-value store on the server that every function, entrypoint and program can share
 * (Modal's `modal.Dict`). Keys and values are what arguments may be (JSON, Date, BigInt, Map,
 * Set, Uint8Array...); keys compare by their encoded form, so strings and numbers are the keys
 * to use. `Dict.fromName(name)` is named and stays until `stubrun dict delete`;
 * `Dict.ephemeral()` belongs to the running app and goes when it stops.
 */
export class Dict<K = unknown, V = unknown> {
  private constructor(private readonly target: ObjectTarget) {}

  /** The Dict called `name` on the server; nothing is sent until it is used. */
  static fromName<K = unknown, V = unknown>(name: string, options: FromNameOptions = {}): Dict<K, V> {
    return new Dict<K, V>(ObjectTarget.named("Dict", name, options.createIfMissing === true));
  }

  /** A Dict of the app this process runs in (a local entrypoint or a function), removed when the app stops. */
  static ephemeral<K = unknown, V = unknown>(): Dict<K, V> {
    return new Dict<K, V>(ObjectTarget.ephemeral("Dict"));
  }

  get name(): string {
    return this.target.name;
  }

  /** The value of `key`, or `defaultValue` (undefined) when it has none. */
  async get(key: K): Promise<V | undefined>;
  async get(key: K, defaultValue: V): Promise<V>;
  async get(key: K, defaultValue?: V): Promise<V | undefined> {
    const reply = await this.send({ op: "get", key: this.key(key) });
    return reply.found ? (decodeValue(reply.value as Encoded) as V) : defaultValue;
  }

  async put(key: K, value: V): Promise<void> {
    await this.send({ op: "put", key: this.key(key), value: encodeValue(value, "a Dict value") });
  }

  /** Puts `value` unless `key` has one; true if it was put. */
  async putIfAbsent(key: K, value: V): Promise<boolean> {
    return (await this.send({ op: "put", key: this.key(key), value: encodeValue(value, "a Dict value"), ifVersion: 0 })).ok === true;
  }

  /**
   * Atomically replaces the value of `key` with `change(current)` and returns it: if another
   * writer changes the key in between, `change` runs again on the newer value (compare-and-set),
   * so concurrent updates (a counter incremented by many workers) are neither lost nor doubled.
   */
  async update(key: K, change: (current: V | undefined) => V | Promise<V>): Promise<V> {
    const encodedKey = this.key(key);
    for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.send({ op: "get", key: encodedKey });
      const next = await change(current.found ? (decodeValue(current.value as Encoded) as V) : undefined);
      const put = await this.send({ op: "put", key: encodedKey, value: encodeValue(next, "a Dict value"), ifVersion: current.version ?? 0 });
      if (put.ok) return next;
      // Others won this round: wait a little, longer as it goes on, so the writers spread out.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 20)));
    }
    throw new Error(`Dict "${this.name}": update of a key lost to other writers ${MAX_UPDATE_ATTEMPTS} times in a row; spread the writes over several keys`);
  }

  /** Removes `key`; true if it had a value. */
  async delete(key: K): Promise<boolean> {
    return (await this.send({ op: "delete", key: this.key(key) })).deleted === true;
  }

  async contains(key: K): Promise<boolean> {
    return (await this.send({ op: "contains", key: this.key(key) })).found === true;
  }

  /** How many entries it holds. */
  async len(): Promise<number> {
    return (await this.send({ op: "len" })).len as number;
  }

  /** The keys, in the order they were first put. */
  async keys(): Promise<K[]> {
    return ((await this.send({ op: "keys" })).keys as Encoded[]).map((k) => decodeValue(k) as K);
  }

  async values(): Promise<V[]> {
    return (await this.items()).map(([, v]) => v);
  }

  async items(): Promise<[K, V][]> {
    return ((await this.send({ op: "items" })).items as [Encoded, Encoded][]).map(([k, v]) => [decodeValue(k) as K, decodeValue(v) as V]);
  }

  /** Removes every entry. */
  async clear(): Promise<void> {
    await this.send({ op: "clear" });
  }

  private key(key: K): Encoded {
    return encodeValue(key, "a Dict key");
  }

  private send(request: Record<string, unknown>): Promise<DictReply> {
    return this.target.send<DictReply>(request);
  }
}
