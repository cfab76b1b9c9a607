import { UsageError } from "@stubrun/protocol";
import path from "node:path";
import { Image, imageManifest } from "../src/image";
import { Stub } from "../src/stub";
import { getFunctions } from "../src/metadata/readers";

/** Issue 9 item 2: `Image` in the SDK: chainable and immutable, checked when called, never touching the disk. */

const noPack = () => {
  throw new Error("no local files here");
};

describe("Image", () => {
  test("each method returns a new image; the base is shared, never changed", () => {
    const base = Image.node().npmInstall("left-pad@1.3.0");
    const withEnv = base.env({ MODE: "fast" });
    const withRun = base.runCommands("echo hi > hi.txt", "ls");
    expect(imageManifest(base, noPack)).toEqual({ steps: [{ kind: "npmInstall", packages: ["left-pad@1.3.0"] }] });
    expect(imageManifest(withEnv, noPack).steps).toEqual([
      { kind: "npmInstall", packages: ["left-pad@1.3.0"] },
      { kind: "env", values: { MODE: "fast" } },
    ]);
    expect(imageManifest(withRun, noPack).steps[1]).toEqual({ kind: "runCommands", commands: ["echo hi > hi.txt", "ls"] });
    expect(imageManifest(Image.node(), noPack)).toEqual({ steps: [] });
    expect(String(withEnv)).toBe("Image(node, npmInstall, env)");
  });

  test.each([
    [() => Image.node().npmInstall(), /give at least one package/],
    [() => Image.node().npmInstall("--global"), /looks like an npm flag/],
    [() => Image.node().npmInstall("./lib"), /local path.*addLocalDir/],
    [() => Image.node().npmInstall("a b"), /one package per argument: npmInstall\("a@1", "b@2"\)/],
    [() => Image.node().env({ "my-key": "x" }), /key "my-key" is not an environment variable name/],
    [() => Image.node().env({ N: 1 as unknown as string }), /the value of N must be a string/],
    [() => Image.node().env({}), /give at least one variable/],
    [() => Image.node().runCommands(), /give at least one command/],
    [() => Image.node().runCommands(" "), /a command must be a non-empty string/],
    [() => Image.node().addLocalFile(""), /path must be a non-empty string, relative to the file that calls addLocalFile/],
  ])("refuses a bad step when it is called: %#", (call, message) => {
    expect(call).toThrow(UsageError);
    expect(call).toThrow(message);
  });

  test("addLocalFile/addLocalDir record the path as given and resolved against the calling file's folder, without reading the disk", () => {
    const image = Image.node().addLocalFile("data/rates.json").addLocalDir("/nowhere/assets");
    const seen: unknown[] = [];
    const manifest = imageManifest(image, (step) => {
      seen.push(step);
      return { path: `landed/${step.path}`, blob: "c".repeat(64) };
    });
    expect(seen).toEqual([
      { kind: "localFile", source: path.join(__dirname, "data/rates.json"), path: "data/rates.json" },
      { kind: "localDir", source: "/nowhere/assets", path: "/nowhere/assets" },
    ]);
    expect(manifest.steps).toEqual([
      { kind: "files", path: "landed/data/rates.json", blob: "c".repeat(64) },
      { kind: "files", path: "landed//nowhere/assets", blob: "c".repeat(64) },
    ]);
  });

  test("new Stub(name, { image }) and @stub.function({ image }) keep the Image; anything else is refused", () => {
    const image = Image.node().env({ A: "1" });
    const own = Image.node().env({ B: "2" });
    const stub = new Stub("img-app", { image });
    class Fns {
      @stub.function({ image: own })
      mine() {}

      @stub.function()
      inherited() {}
    }
    expect(stub.image).toBe(image);
    const entries = getFunctions(Fns);
    expect(entries.find((e) => e.methodName === "mine")?.image).toBe(own);
    expect(entries.find((e) => e.methodName === "inherited")?.image).toBeUndefined();
    expect(() => new Stub("x", { image: { steps: [] } as unknown as Image })).toThrow(/"image" must be an Image, like Image\.node\(\)/);
    // Checked when the decorator is applied to a method, not when its options are made.
    expect(() => stub.function({ image: "node" as unknown as Image })).not.toThrow();
    expect(() => {
      class Bad {
        @stub.function({ image: "node" as unknown as Image })
        f() {}
      }
      return Bad;
    }).toThrow(/@stub\.function\(\) on Bad\.f: "image" must be an Image/);
  });
});
