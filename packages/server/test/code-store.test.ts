import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CodeStore, contentHash } from "../src/code/code.store";

/** Issue 7 point 8: the code store's hash and its staging folders. */

let root: string;
beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-code-store-"))));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("CodeStore", () => {
  test("staging folders a killed server left are removed; stored code is kept", () => {
    const store = new CodeStore(root);
    const kept = store.put([{ path: "main.js", code: "1" }]);
    const leftover = path.join(root, `${"a".repeat(32)}.tmp-4242-1764380000000`);
    fs.mkdirSync(leftover);
    fs.writeFileSync(path.join(leftover, "half.js"), "half");
    expect(store.removeLeftoverStaging()).toBe(1);
    expect(fs.existsSync(leftover)).toBe(false);
    expect(fs.readFileSync(path.join(kept, "main.js"), "utf8")).toBe("1");
  });

  test("two different uploads never share a folder, whatever bytes their code holds", () => {
    // With NUL separators both hashed as "a\0x\0b\0y\0".
    const one = [{ path: "a", code: "x\0b\0y" }];
    const two = [
      { path: "a", code: "x" },
      { path: "b", code: "y" },
    ];
    expect(contentHash(one)).not.toBe(contentHash(two));
    const store = new CodeStore(root);
    const dirOne = store.put(one);
    const dirTwo = store.put(two);
    expect(dirOne).not.toBe(dirTwo);
    expect(fs.readFileSync(path.join(dirOne, "a"), "utf8")).toBe("x\0b\0y");
    expect(fs.readFileSync(path.join(dirTwo, "a"), "utf8")).toBe("x");
    // A path is told apart from content too.
    expect(contentHash([{ path: "ab", code: "c" }])).not.toBe(contentHash([{ path: "a", code: "bc" }]));
  });

  test("the same files in any order are stored once", () => {
    const store = new CodeStore(root);
    const files = [
      { path: "main.js", code: "1" },
      { path: "lib/x.js", code: "2" },
    ];
    const dir = store.put(files);
    expect(store.put([...files].reverse())).toBe(dir);
    expect(fs.readdirSync(root).sort()).toEqual([path.basename(dir), `${path.basename(dir)}.json`]); // the folder and its recipe
  });

  test("a write that fails half-way leaves no staging folder behind", () => {
    const store = new CodeStore(root);
    const files = [
      { path: "main.js", code: "ok" },
      { path: `${"n".repeat(300)}.js`, code: "" }, // ENAMETOOLONG
    ];
    expect(() => store.put(files)).toThrow(/ENAMETOOLONG/);
    expect(fs.readdirSync(root)).toEqual([]);
    const conflict = [
      { path: "lib/a.js", code: "" },
      { path: "lib", code: "" }, // EISDIR
    ];
    expect(() => store.put(conflict)).toThrow();
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test("layers: a package's files are hard links at their path, the code wins over a layer, and where they land names the folder", () => {
    const blob = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-layer-"));
    try {
      fs.writeFileSync(path.join(blob, "index.js"), "module.exports = 1;");
      fs.writeFileSync(path.join(blob, "main.js"), "from the layer");
      fs.symlinkSync("index.js", path.join(blob, "alias.js"));
      const store = new CodeStore(path.join(root, "code"));
      const files = [{ path: "main.js", code: "from the code" }];
      const dir = store.put(files, [{ path: "node_modules/pkg", blob: "b".repeat(64), dir: blob }, { path: "", blob: "b".repeat(64), dir: blob }]);
      expect(fs.statSync(path.join(dir, "node_modules/pkg/index.js")).ino).toBe(fs.statSync(path.join(blob, "index.js")).ino);
      expect(fs.readlinkSync(path.join(dir, "node_modules/pkg/alias.js"))).toBe("index.js");
      expect(fs.readFileSync(path.join(dir, "main.js"), "utf8")).toBe("from the code");
      expect(fs.readFileSync(path.join(dir, "index.js"), "utf8")).toBe("module.exports = 1;");
      expect(store.put(files, [{ path: "node_modules/other", blob: "b".repeat(64), dir: blob }])).not.toBe(dir);
      expect(store.put(files)).not.toBe(dir);
    } finally {
      fs.rmSync(blob, { recursive: true, force: true });
    }
  });

  test("each folder's recipe is kept beside it, never inside: its files and which blob lands where", () => {
    const blob = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-layer-"));
    try {
      fs.writeFileSync(path.join(blob, "index.js"), "module.exports = 1;");
      const store = new CodeStore(path.join(root, "code"));
      const files = [
        { path: "lib/x.js", code: "2" },
        { path: "main.js", code: "1" },
      ];
      const dir = store.put([...files].reverse(), [{ path: "node_modules/pkg", blob: "b".repeat(64), dir: blob }]);
      const hash = path.basename(dir);
      const recipeFile = store.recipePath(hash)!;
      expect(recipeFile).toBe(path.join(root, "code", `${hash}.json`));
      expect(JSON.parse(fs.readFileSync(recipeFile, "utf8"))).toEqual({ files, layers: [{ path: "node_modules/pkg", blob: "b".repeat(64) }] });
      expect(fs.readdirSync(dir).sort()).toEqual(["lib", "main.js", "node_modules", "package.json"]);
      // The recipe alone rebuilds the same folder in another store.
      const recipe = JSON.parse(fs.readFileSync(recipeFile, "utf8")) as { files: typeof files; layers: { path: string; blob: string }[] };
      const other = new CodeStore(path.join(root, "elsewhere"));
      expect(path.basename(other.put(recipe.files, recipe.layers.map((l) => ({ ...l, dir: blob }))))).toBe(hash);
      expect(store.recipePath("0".repeat(32))).toBeUndefined();
      expect(store.recipePath("../code")).toBeUndefined();
    } finally {
      fs.rmSync(blob, { recursive: true, force: true });
    }
  });

  test("a folder stored before recipes were kept gets one when its code is uploaded again; staging recipes are leftovers", () => {
    const store = new CodeStore(root);
    const files = [{ path: "main.js", code: "1" }];
    const dir = store.put(files);
    fs.rmSync(`${dir}.json`);
    expect(store.recipePath(path.basename(dir))).toBeUndefined();
    expect(store.put(files)).toBe(dir);
    expect(store.recipePath(path.basename(dir))).toBe(`${dir}.json`);
    fs.writeFileSync(`${dir}.json.tmp-4242-1764380000000`, "{ half");
    expect(store.removeLeftoverStaging()).toBe(1);
    expect(fs.readdirSync(root).sort()).toEqual([path.basename(dir), `${path.basename(dir)}.json`]);
  });
});
