import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bwrapArgs } from "../src/sandbox/bwrap-args";
import { SharedObjects } from "../src/objects/shared-objects";
import { openDatabase, type StateDatabase } from "../src/state/database";

/** The server side of Volumes: heads by hash, compare-and-set commits, what `list` shows. */
describe("Volume heads", () => {
  let home: string;
  let db: StateDatabase;
  let objects: SharedObjects;
  const stored = new Set<string>();
  const a = "a".repeat(64);
  const b = "b".repeat(64);
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-volumes-"));
    db = openDatabase(home);
    objects = new SharedObjects(db, { maxDictEntries: 2, maxQueueLength: 3 }, () => true, (hash) => stored.has(hash));
    stored.clear();
  });
  afterEach(() => {
    objects.close();
    db.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  const volume = (op: object, env = "main") => objects.volume({ type: "volume", id: 1, name: "v", create: true, ...op } as never, env);

  test("a new Volume has no head; each commit names a stored blob and bumps the version", () => {
    expect(volume({ op: "head" })).toEqual({ hash: null, version: 0 });
    expect(() => volume({ op: "commit", hash: a })).toThrow(`Volume "v": the server has no blob ${a} to commit; upload it first`);
    stored.add(a).add(b);
    expect(volume({ op: "commit", hash: a })).toEqual({ hash: a, version: 1, ok: true });
    expect(volume({ op: "commit", hash: b })).toEqual({ hash: b, version: 2, ok: true });
    expect(volume({ op: "head" }, "main")).toEqual({ hash: b, version: 2 });
    expect(objects.list("Volume")).toMatchObject([{ name: "v", env: "main", len: 2, head: b }]);
  });

  test("a commit with ifVersion loses to one made since, changing nothing", () => {
    stored.add(a).add(b);
    volume({ op: "commit", hash: a });
    expect(volume({ op: "commit", hash: b, ifVersion: 0 })).toEqual({ hash: a, version: 1, ok: false });
    expect(volume({ op: "commit", hash: b, ifVersion: 1 })).toEqual({ hash: b, version: 2, ok: true });
  });

  test("environments have their own Volumes; a missing one says how to make it; delete removes the head", () => {
    stored.add(a);
    volume({ op: "commit", hash: a });
    expect(() => objects.volume({ type: "volume", id: 1, name: "v", op: "head" } as never, "dev")).toThrow(
      'no Volume named "v" in environment dev; create it with Volume.fromName("v", { createIfMissing: true })',
    );
    objects.delete("Volume", objects.find("Volume", "v", "main")!);
    expect(volume({ op: "head" })).toEqual({ hash: null, version: 0 });
  });
});

describe("bwrapArgs with Volumes", () => {
  test("each Volume's folder is bound writable at its path, after the read-only code and the private /tmp", () => {
    const args = bwrapArgs({ codeDir: "/srv/code/x", runtimeDirs: [], network: true, mounts: [{ hostDir: "/tmp/stubrun-volumes-1/0", path: "/data" }] });
    const bind = args.indexOf("--bind");
    expect(args.slice(bind, bind + 3)).toEqual(["--bind", "/tmp/stubrun-volumes-1/0", "/data"]);
    expect(bind).toBeGreaterThan(args.lastIndexOf("--ro-bind"));
    expect(bind).toBeGreaterThan(args.indexOf("--tmpfs"));
  });
});
