import { isProcessAlive, RequestRefusedError, type ImageManifest } from "@stubrun/protocol";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ImageBuilder, type ImageLogEntry } from "../src/images/image-builder";
import { imageHash } from "../src/images/image-hash";
import { BUILT_MARKER, ImageStore } from "../src/images/image-store";

/**
 * Issue 9 item 2: the image builder's cache. Images of `runCommands` and `env` steps only (the
 * real npm install is in test/e2e/images.test.ts); each build appends to a counter file, so a
 * test sees how many builds ran.
 */

let root: string;
let store: ImageStore;
let builder: ImageBuilder;
const limits = { imageBuildTimeoutSeconds: 60, maxImageLogLines: 1000 };
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-images-"));
  store = new ImageStore(path.join(root, "images"));
  builder = new ImageBuilder(store, limits);
});
afterEach(async () => {
  await builder.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const counter = () => path.join(root, "builds.txt");
const builds = () => (fs.existsSync(counter()) ? fs.readFileSync(counter(), "utf8").trim().split("\n").length : 0);
const image = (...commands: string[]): ImageManifest => ({
  steps: [
    { kind: "env", values: { GREETING: "hello" } },
    { kind: "runCommands", commands: [`echo built >> ${counter()}`, ...commands] },
  ],
});

function collect(): { log: ImageLogEntry[]; onLog: (hash: string, entry: ImageLogEntry) => void } {
  const log: ImageLogEntry[] = [];
  return { log, onLog: (_hash, entry) => log.push(entry) };
}

describe("ImageBuilder", () => {
  test("builds once, with its log and progress; then answers from the cache, across builders (a restart)", async () => {
    const first = collect();
    const result = await builder.build(image('echo "$GREETING from $PWD" > out.txt'), first.onLog);
    expect(result).toEqual({ image: imageHash(image('echo "$GREETING from $PWD" > out.txt')), built: true, seconds: expect.any(Number) });
    expect(first.log.filter((e) => e.step)).toEqual([
      { line: "env GREETING", step: { index: 1, count: 2 } },
      { line: expect.stringMatching(/^run echo built >> /), step: { index: 2, count: 2 } },
    ]);
    const dir = store.dirOf(result.image);
    // env steps reach later steps; commands run in the image's own folder (where it stays).
    expect(fs.readFileSync(path.join(dir, "out.txt"), "utf8").trim()).toBe(`hello from ${dir}`);
    expect(store.isBuilt(result.image)).toBe(true);

    const again = collect();
    expect(await builder.build(image('echo "$GREETING from $PWD" > out.txt'), again.onLog)).toEqual({ image: result.image, built: false, seconds: 0 });
    expect(again.log).toEqual([]);
    const restarted = new ImageBuilder(new ImageStore(store.directory), limits);
    expect((await restarted.build(image('echo "$GREETING from $PWD" > out.txt'), () => {})).built).toBe(false);
    expect(builds()).toBe(1);
  });

  test("two requests at once share one build; the second replays the log so far", async () => {
    const release = path.join(root, "release");
    const slow = image(`while [ ! -f ${release} ]; do sleep 0.02; done`, "echo after-release");
    const a = collect();
    const b = collect();
    const first = builder.build(slow, a.onLog);
    await waitFor(() => builds() === 1);
    const second = builder.build(slow, b.onLog);
    fs.writeFileSync(release, "");
    const [ra, rb] = await Promise.all([first, second]);
    expect(ra.built && rb.built).toBe(true);
    expect(builds()).toBe(1);
    expect(b.log.map((e) => e.line)).toEqual(a.log.map((e) => e.line));
    expect(b.log.map((e) => e.line)).toContain("after-release");
  });

  test("a failed build says which step failed, with the log's tail; it leaves nothing and is not cached", async () => {
    const failing = image("echo going to fail", "echo on-stderr >&2; exit 3");
    const error = await builder.build(failing, () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestRefusedError);
    expect((error as Error).message).toMatch(/^image [0-9a-f]{12} failed at step 2\/2 \(run .*\): exited with code 3\nThe end of its build log:\n[\s\S]*going to fail\non-stderr$/);
    expect(fs.readdirSync(store.directory)).toEqual([]);
    await builder.build(failing, () => {}).catch(() => undefined);
    expect(builds()).toBe(2); // built again, not answered from a cache
  });

  test("a build over limits.imageBuildTimeoutSeconds fails, its processes killed", async () => {
    const quick = new ImageBuilder(store, { ...limits, imageBuildTimeoutSeconds: 1 });
    const pidFile = path.join(root, "sleeper.pid");
    const error = await quick.build(image(`sleep 60 & echo $! > ${pidFile}; wait`), () => {}).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/the build took longer than 1 s \(limits\.imageBuildTimeoutSeconds/);
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    await waitFor(() => !isProcessAlive(pid));
  });

  test("a folder without its .built marker (a server killed mid-build) is not built, and removed at start", () => {
    const hash = imageHash(image());
    fs.mkdirSync(path.join(store.dirOf(hash), "node_modules"), { recursive: true });
    expect(store.isBuilt(hash)).toBe(false);
    const done = imageHash(image("echo other"));
    fs.mkdirSync(store.dirOf(done), { recursive: true });
    fs.writeFileSync(path.join(store.dirOf(done), BUILT_MARKER), "{}");
    store.removeUnfinished();
    expect(fs.readdirSync(store.directory)).toEqual([done]);
  });

  test("an image with nothing to build needs no build; files steps are not part of its hash", async () => {
    const files = { kind: "files" as const, path: "data", blob: "b".repeat(64) };
    expect(await builder.build({ steps: [files] }, () => {})).toEqual({ image: imageHash({ steps: [] }), built: false, seconds: 0 });
    expect(imageHash({ steps: [...image().steps, files] })).toBe(imageHash(image()));
    expect(imageHash(image("echo a"))).not.toBe(imageHash(image("echo b")));
    expect(imageHash(image(), { platform: "linux", arch: "x64", modules: "115" })).not.toBe(imageHash(image(), { platform: "linux", arch: "arm64", modules: "115" }));
  });

  test("a worker's view: the image's folder and its env, later env steps winning", () => {
    const twice: ImageManifest = { steps: [{ kind: "env", values: { A: "1", B: "1" } }, { kind: "env", values: { B: "2" } }] };
    expect(store.forWorker(twice)).toEqual({ dir: store.dirOf(imageHash(twice)), env: { A: "1", B: "2" } });
    expect(store.forWorker(undefined)).toEqual({ dir: undefined, env: {} });
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check()).toBe(true);
}
