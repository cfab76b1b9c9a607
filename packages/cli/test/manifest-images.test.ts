import { Image, Stub } from "@stubrun/sdk";
import { buildManifest } from "../src/run/manifest.builder";
import { AppAssets } from "../src/upload/app-assets";
import { packLocalFiles } from "../src/upload/app-bundle";
import type { CodeBundle } from "../src/loader/code-bundle";
import type { ParamsReader } from "../src/run/entrypoint-params";

/** Issue 9 item 2: the manifest carries each function's image: its own, else its stub's. */

const bundle = { entry: "main.js", root: "/project", files: [], packages: [] } as unknown as CodeBundle;
const params = { params: () => [], classParams: () => [] } as unknown as ParamsReader;

const stubImage = Image.node().npmInstall("left-pad@1.3.0");
const ownImage = Image.node().env({ OWN: "yes" });
const stub = new Stub("manifest-images", { image: stubImage });
const plain = new Stub("manifest-plain");

class WithImages {
  @stub.function()
  inherits() {}

  @stub.function({ image: ownImage })
  replaces() {}
}

class WithoutImage {
  @plain.function()
  none() {}
}

class WithFiles {
  @plain.function({ image: Image.node().addLocalFile("rates.json") })
  files() {}
}

describe("buildManifest and images", () => {
  test("a function's image replaces the stub's; a function with neither has none", () => {
    void [WithImages, WithoutImage];
    const manifest = buildManifest(undefined, bundle, params, (step) => ({ path: step.path, blob: "d".repeat(64) }));
    const imageOf = (name: string) => manifest.functions.find((f) => f.name === name)?.options.image;
    expect(imageOf("WithImages.inherits")).toEqual({ steps: [{ kind: "npmInstall", packages: ["left-pad@1.3.0"] }] });
    expect(imageOf("WithImages.replaces")).toEqual({ steps: [{ kind: "env", values: { OWN: "yes" } }] });
    expect(manifest.functions.find((f) => f.name === "WithoutImage.none")?.options).not.toHaveProperty("image");
    expect(imageOf("WithFiles.files")).toEqual({ steps: [{ kind: "files", path: "rates.json", blob: "d".repeat(64) }] });
  });

  test("a local file that is not there is a usage error naming the path it looked for", () => {
    void WithFiles;
    expect(() => buildManifest(undefined, bundle, params, packLocalFiles(bundle, new AppAssets()))).toThrow(
      expect.objectContaining({ code: "USAGE", message: expect.stringMatching(/^Image\.addLocalFile\("rates\.json"\): no file at \/.*rates\.json \(nothing is there\); the path is relative to the file that calls addLocalFile$/) }),
    );
  });
});
