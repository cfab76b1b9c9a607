import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { QueueReply } from "@stubrun/protocol";
import { SharedObjects } from "../src/objects/shared-objects";
import { openDatabase, type StateDatabase } from "../src/state/database";

/** The server side of Dicts and Queues: waits, order, limits, and what goes with an app. */
describe("SharedObjects", () => {
  let home: string;
  let db: StateDatabase;
  let objects: SharedObjects;
  const running = new Set(["ap-1"]);
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-objects-"));
    db = openDatabase(home);
    objects = new SharedObjects(db, { maxDictEntries: 2, maxQueueLength: 3 }, (appId) => running.has(appId));
  });
  afterEach(() => {
    objects.close();
    db.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  const queue = (op: object, owner: unknown = "client") => objects.queue({ type: "queue", id: 1, name: "q", create: true, ...op } as never, owner);
  const dict = (op: object) => objects.dict({ type: "dict", id: 1, name: "d", create: true, ...op } as never);

  test("gets wait in the order they came, and each value goes to one of them", async () => {
    const first = queue({ op: "get", max: 1 }) as Promise<QueueReply>;
    const second = queue({ op: "get", max: 5 }) as Promise<QueueReply>;
    queue({ op: "put", values: ["a", "b", "c"] });
    expect(await first).toEqual({ values: ["a"] });
    expect(await second).toEqual({ values: ["b", "c"] });
    expect(queue({ op: "len", total: true })).toEqual({ len: 0 });
  });

  test("a wait ends empty when its time is up, and with an error when its Queue is deleted", async () => {
    expect(await queue({ op: "get", max: 1, timeoutMs: 20 })).toEqual({ values: [] });
    const waiting = queue({ op: "get", max: 1 }) as Promise<QueueReply>;
    objects.delete("Queue", objects.find("Queue", "q")!);
    await expect(waiting).rejects.toThrow('Queue "q" was deleted while this get waited');
  });

  test("a connection that goes takes its waits with it: a later put stays for the next get", async () => {
    void queue({ op: "get", max: 1 }, "gone");
    objects.release("gone");
    queue({ op: "put", values: ["kept"] });
    expect(queue({ op: "get", max: 1, timeoutMs: 0 })).toEqual({ values: ["kept"] });
  });

  test("limits refuse the put that would pass them, saying which", () => {
    expect(() => queue({ op: "put", values: [1, 2, 3, 4] })).toThrow("would hold more than 3 values, the server's limit (maxQueueLength)");
    expect(queue({ op: "len", total: true })).toEqual({ len: 0 }); // all or none
    dict({ op: "put", key: "a", value: 1 });
    dict({ op: "put", key: "b", value: 1 });
    expect(() => dict({ op: "put", key: "c", value: 1 })).toThrow("holds 2 entries, the server's limit (maxDictEntries)");
    expect(dict({ op: "put", key: "a", value: 2 })).toEqual({ ok: true, version: 2 }); // replacing is no new entry
  });

  test("compare-and-set: a put with a stale version changes nothing", () => {
    expect(dict({ op: "put", key: "n", value: 1, ifVersion: 0 })).toEqual({ ok: true, version: 1 });
    expect(dict({ op: "put", key: "n", value: 5, ifVersion: 0 })).toEqual({ ok: false, version: 1 });
    expect(dict({ op: "get", key: "n" })).toEqual({ found: true, value: 1, version: 1 });
  });

  test("an app's ephemeral objects go when it stops, or at start when it no longer runs; a stopped app cannot make one", () => {
    objects.dict({ type: "dict", id: 1, name: "scratch", app: "ap-1", op: "put", key: "k", value: 1 });
    objects.dict({ type: "dict", id: 1, name: "named", create: true, op: "put", key: "k", value: 1 });
    expect(objects.list("Dict").map((d) => [d.name, d.app])).toEqual([["named", null], ["scratch", "ap-1"]]);
    running.delete("ap-1");
    objects.removeOrphans();
    expect(objects.list("Dict").map((d) => d.name)).toEqual(["named"]);
    expect(() => objects.dict({ type: "dict", id: 1, name: "scratch", app: "ap-1", op: "len" })).toThrow("app ap-1 is not running: an ephemeral Dict lives only while its app runs");
    running.add("ap-1");
    objects.queue({ type: "queue", id: 1, name: "scratch", app: "ap-1", op: "put", values: [1] }, "c");
    objects.removeAppObjects("ap-1");
    expect(objects.list("Queue")).toEqual([]);
  });
});
