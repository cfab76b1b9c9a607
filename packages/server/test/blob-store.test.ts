import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BlobRefusedError, BlobStore } from "../src/code/blob.store";

const LIMITS = { maxBlobBytes: 1024 * 1024, maxEntries: 100, maxEntryBytes: 1024 * 1024 };
const TREE = Buffer.from("stubrun-tree 1\nf 5 8\nindex.jshellol 8 4\nmainindex.jsx 2 6\nrun.shhiend\n");
const HASH = createHash("sha256").update(TREE).digest("hex");

/** The tree's bytes in small pieces, each after a turn of the event loop (as a request body arrives). */
async function* slowly(bytes: Buffer, step = 7): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += step) {
    await new Promise((resolve) => setImmediate(resolve));
    yield bytes.subarray(i, i + step);
  }
}

let root: string;
beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-blobs-"))));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("BlobStore", () => {
  test("stores a tree under its hash: files, an executable, a link", async () => {
    const store = new BlobStore(root);
    await store.receive(HASH, slowly(TREE), LIMITS);
    const dir = store.dir(HASH);
    expect(fs.readFileSync(path.join(dir, "index.js"), "utf8")).toBe("hello");
    expect(fs.readlinkSync(path.join(dir, "main"))).toBe("index.js");
    expect(fs.statSync(path.join(dir, "run.sh")).mode & 0o111).not.toBe(0);
    expect(store.missing([HASH, "f".repeat(64)])).toEqual(["f".repeat(64)]);
  });

  test("two uploads of the same blob at once write it once, and both succeed", async () => {
    const store = new BlobStore(root);
    await Promise.all([store.receive(HASH, slowly(TREE), LIMITS), store.receive(HASH, slowly(TREE, 3), LIMITS)]);
    expect(fs.readdirSync(root)).toEqual([HASH]);
  });

  test("bytes that do not hash to the name, a broken tree and one over the limit are refused, leaving nothing", async () => {
    const store = new BlobStore(root);
    await expect(store.receive("0".repeat(64), slowly(TREE), LIMITS)).rejects.toThrow(/hashes to [0-9a-f]{64}, not 0{64}/);
    await expect(store.receive(HASH, slowly(TREE.subarray(0, 30)), LIMITS)).rejects.toThrow(BlobRefusedError);
    await expect(store.receive(HASH, slowly(TREE), { ...LIMITS, maxBlobBytes: 20 })).rejects.toThrow(/over the limit of 20 bytes/);
    expect(fs.readdirSync(root)).toEqual([]);
  });
});
