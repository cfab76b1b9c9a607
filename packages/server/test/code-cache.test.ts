import { listTree, packTree, treeBytes } from "@stubrun/protocol";
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { CodeStore } from "../src/code/code.store";
import { snapshot } from "./folder-snapshot";
import { CodeCache } from "../src/node/code-cache";
import { startServer, type RunningServer } from "../src/server";

/**
 * Issue 10: a worker node gets an app's code by content hash over HTTP (`GET /api/code/HASH`, then
 * `GET /api/blobs/HASH`), never from the server's disk, and rebuilds the same folder in its own home.
 */

const homes: string[] = [];
function home(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `stubrun-${prefix}-`));
  homes.push(dir);
  return dir;
}

let server: RunningServer;
let serverHome: string;
let codeHash: string;
let blobHash: string;

/** A package's folder: a file, an executable, a link inside it, a nested folder. */
function packageFolder(): string {
  const dir = home("pkg");
  fs.mkdirSync(path.join(dir, "lib"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "pkg", "main": "lib/index.js" }');
  fs.writeFileSync(path.join(dir, "lib/index.js"), "module.exports = (s) => `<${s}>`;");
  fs.writeFileSync(path.join(dir, "bin/run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  fs.symlinkSync("lib/index.js", path.join(dir, "alias.js"));
  return dir;
}

async function upload(dir: string): Promise<string> {
  const tree = packTree(listTree(dir));
  const res = await fetch(`${server.url}/api/blobs/${tree.hash}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${server.token}`, "content-length": String(tree.bytes) },
    body: treeBytes(tree.files) as unknown as BodyInit,
    duplex: "half",
  } as RequestInit);
  expect(res.status).toBe(200);
  return tree.hash;
}

beforeAll(async () => {
  serverHome = home("server");
  server = await startServer({ home: serverHome, port: 0, log: () => undefined });
  blobHash = await upload(packageFolder());
  // What an upload stores (AppUploads.store): compiled files, the package linked in at its path.
  const dir = new CodeStore(path.join(serverHome, "code")).put(
    [
      { path: "main.js", code: 'module.exports = require("pkg")("x");' },
      { path: "lib/util.js", code: "exports.one = 1;" },
    ],
    [{ path: "node_modules/pkg", blob: blobHash, dir: path.join(serverHome, "blobs", blobHash) }],
  );
  codeHash = path.basename(dir);
});
afterAll(async () => {
  await server.close();
  jest.restoreAllMocks();
  homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true }));
});

const get = (pathname: string, token: string | null = server.token) => fetch(`${server.url}${pathname}`, { headers: token !== null ? { authorization: `Bearer ${token}` } : {} });

/** A URL where nothing listens (a port free a moment ago). */
async function closedUrl(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe("GET /api/code/HASH and GET /api/blobs/HASH", () => {
  test("the recipe: the code's files and which blob lands where; the blob: its tree bytes, hashing to its name", async () => {
    const recipe = await get(`/api/code/${codeHash}`);
    expect(recipe.status).toBe(200);
    expect(await recipe.json()).toEqual({
      files: [
        { path: "lib/util.js", code: "exports.one = 1;" },
        { path: "main.js", code: 'module.exports = require("pkg")("x");' },
      ],
      layers: [{ path: "node_modules/pkg", blob: blobHash }],
    });
    const blob = await get(`/api/blobs/${blobHash}`);
    expect(blob.status).toBe(200);
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(Number(blob.headers.get("content-length"))).toBe(bytes.length);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(blobHash);
  });

  test("both need the server's full token", async () => {
    for (const pathname of [`/api/code/${codeHash}`, `/api/blobs/${blobHash}`]) {
      expect((await get(pathname, null)).status).toBe(401);
      expect((await get(pathname, "not-the-token")).status).toBe(401);
    }
  });

  test("unknown hashes are 404 saying so; malformed ones 400", async () => {
    const code = await get(`/api/code/${"0".repeat(32)}`);
    expect(code.status).toBe(404);
    expect((await code.json()).error).toContain(`this server has no code ${"0".repeat(32)}`);
    const blob = await get(`/api/blobs/${"0".repeat(64)}`);
    expect(blob.status).toBe(404);
    expect((await blob.json()).error).toContain(`this server has no blob ${"0".repeat(64)}`);
    expect((await get("/api/code/nope")).status).toBe(400);
    expect((await get(`/api/code/${codeHash}/more`)).status).toBe(400);
  });
});

describe("CodeCache (a worker node's copy of the code)", () => {
  test("rebuilds the server's code folder in its own home: same files, node_modules and links included", async () => {
    const nodeHome = home("node");
    const cache = new CodeCache(nodeHome, server.url, server.token);
    const dir = await cache.ensure(codeHash);
    expect(dir).toBe(path.join(nodeHome, "code", codeHash));
    expect(snapshot(dir)).toEqual(snapshot(path.join(serverHome, "code", codeHash)));
    expect(snapshot(dir)).toEqual(expect.arrayContaining(["node_modules/pkg/alias.js -> lib/index.js", expect.stringMatching(/^node_modules\/pkg\/bin\/run\.sh \(x\): /)]));
    // Node loads it as the server's workers would.
    expect(require(path.join(dir, "main.js"))).toBe("<x>");
    expect(fs.readdirSync(path.join(nodeHome, "blobs"))).toEqual([blobHash]);
  });

  test("two ensure() of the same hash at once fetch it once; later ones need no server", async () => {
    const nodeHome = home("node");
    const calls: string[] = [];
    const realFetch = globalThis.fetch;
    const spy = jest.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      calls.push(String(input));
      return realFetch(input, init);
    });
    try {
      const cache = new CodeCache(nodeHome, `${server.url}/`, server.token);
      const [a, b] = await Promise.all([cache.ensure(codeHash), cache.ensure(codeHash)]);
      expect(a).toBe(b);
      expect(calls).toEqual([`${server.url}/api/code/${codeHash}`, `${server.url}/api/blobs/${blobHash}`]);
      // A new cache on the same home (a restarted node) finds the folder without asking.
      const again = await new CodeCache(nodeHome, await closedUrl(), server.token).ensure(codeHash);
      expect(again).toBe(a);
      expect(calls).toHaveLength(2);
    } finally {
      spy.mockRestore();
    }
  });

  test("a package the node has already is not fetched again for other code", async () => {
    const nodeHome = home("node");
    await new CodeCache(nodeHome, server.url, server.token).ensure(codeHash);
    const other = path.basename(
      new CodeStore(path.join(serverHome, "code")).put([{ path: "main.js", code: "2" }], [{ path: "node_modules/pkg", blob: blobHash, dir: path.join(serverHome, "blobs", blobHash) }]),
    );
    const calls: string[] = [];
    const realFetch = globalThis.fetch;
    const spy = jest.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      calls.push(String(input));
      return realFetch(input, init);
    });
    try {
      const dir = await new CodeCache(nodeHome, server.url, server.token).ensure(other);
      expect(fs.readFileSync(path.join(dir, "main.js"), "utf8")).toBe("2");
      expect(calls).toEqual([`${server.url}/api/code/${other}`]);
    } finally {
      spy.mockRestore();
    }
  });

  test("errors name the server and say what to do: no token, a wrong token, unknown code, nothing listening", async () => {
    const nodeHome = home("node");
    await expect(new CodeCache(nodeHome, server.url, undefined).ensure(codeHash)).rejects.toThrow(
      `the server at ${server.url} needs a token (STUBRUN_TOKEN is not set) to send code ${codeHash}: set STUBRUN_TOKEN to the server's token`,
    );
    await expect(new CodeCache(nodeHome, server.url, "wrong").ensure(codeHash)).rejects.toThrow(`the server at ${server.url} refused the token (STUBRUN_TOKEN)`);
    await expect(new CodeCache(nodeHome, server.url, server.token).ensure("1".repeat(32))).rejects.toThrow(`the server at ${server.url} has no code ${"1".repeat(32)}`);
    await expect(new CodeCache(nodeHome, server.url, server.token).ensure("../../etc")).rejects.toThrow("is not a code hash");
    const closed = await closedUrl();
    await expect(new CodeCache(nodeHome, closed, server.token).ensure(codeHash)).rejects.toThrow(`cannot reach the stubrun server at ${closed} to fetch code ${codeHash} (ECONNREFUSED)`);
    expect(fs.existsSync(path.join(nodeHome, "code", codeHash))).toBe(false);
  });

  test("a blob whose bytes do not match its hash is refused, and nothing of it stays on the node", async () => {
    const pkg = packageFolder();
    fs.writeFileSync(path.join(pkg, "only-here.txt"), "a blob of this test's own"); // the others' blob stays whole
    const hash = await upload(pkg);
    expect(hash).not.toBe(blobHash);
    const code = path.basename(new CodeStore(path.join(serverHome, "code")).put([{ path: "main.js", code: "3" }], [{ path: "node_modules/pkg", blob: hash, dir: path.join(serverHome, "blobs", hash) }]));
    // Changed on the server's disk after it was stored (the node must not trust the server's disk either).
    fs.unlinkSync(path.join(serverHome, "blobs", hash, "lib/index.js"));
    fs.writeFileSync(path.join(serverHome, "blobs", hash, "lib/index.js"), "module.exports = () => 'tampered';");
    const nodeHome = home("node");
    await expect(new CodeCache(nodeHome, server.url, server.token).ensure(code)).rejects.toThrow(new RegExp(`fetching blob ${hash} from the server at .* failed: the upload's content hashes to [0-9a-f]{64}, not ${hash}`));
    expect(fs.readdirSync(path.join(nodeHome, "blobs"))).toEqual([]);
    expect(fs.existsSync(path.join(nodeHome, "code", code))).toBe(false);
  });

  test("what a node killed mid-fetch left half-written is removed at its next start", async () => {
    const nodeHome = home("node");
    const cache = new CodeCache(nodeHome, server.url, server.token);
    const dir = await cache.ensure(codeHash);
    const leftovers = [`${dir}.tmp-4242-1764380000000`, `${dir}.json.tmp-4242-1764380000000`, path.join(nodeHome, "blobs", `${"e".repeat(64)}.tmp-4242-1764380000000`)];
    fs.mkdirSync(leftovers[0]);
    fs.writeFileSync(leftovers[1], "{ half");
    fs.mkdirSync(leftovers[2]);
    new CodeCache(nodeHome, server.url, server.token).removeLeftoverStaging();
    expect(leftovers.filter((f) => fs.existsSync(f))).toEqual([]);
    expect(fs.existsSync(path.join(dir, "main.js"))).toBe(true);
  });
});
