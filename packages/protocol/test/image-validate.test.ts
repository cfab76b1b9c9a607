import { DEFAULT_FUNCTION_OPTIONS } from "../src/defaults";
import { ProtocolError } from "../src/errors";
import { imageBuildSteps } from "../src/image-rules";
import { validateClientMessage } from "../src/validate";

/** Issue 9 item 2: image manifests in `image.build` and in a function's options are checked before use. */

const BLOB = "a".repeat(64);
const build = (image: unknown) => validateClientMessage({ type: "image.build", id: 7, image });

function refusal(image: unknown): string {
  try {
    build(image);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(image)}`);
}

describe("image.build validation", () => {
  test("every step kind is accepted, copied with only the fields that are read", () => {
    const image = {
      steps: [
        { kind: "npmInstall", packages: ["left-pad@1.3.0", "@types/node@^20", "https://example.com/pkg.tgz"], extra: 1 },
        { kind: "env", values: { MODE: "fast", _X1: "" } },
        { kind: "runCommands", commands: ["echo hi > x.txt"] },
        { kind: "files", path: "data/rates.json", blob: BLOB },
      ],
    };
    expect(build(image)).toEqual({
      type: "image.build",
      id: 7,
      image: {
        steps: [
          { kind: "npmInstall", packages: ["left-pad@1.3.0", "@types/node@^20", "https://example.com/pkg.tgz"] },
          { kind: "env", values: { MODE: "fast", _X1: "" } },
          { kind: "runCommands", commands: ["echo hi > x.txt"] },
          { kind: "files", path: "data/rates.json", blob: BLOB },
        ],
      },
    });
  });

  test.each([
    [{ kind: "npmInstall", packages: ["--prefix=/etc"] }, /looks like an npm flag/],
    [{ kind: "npmInstall", packages: ["a b"] }, /one package per argument/],
    [{ kind: "npmInstall", packages: ["file:../secret"] }, /local path/],
    [{ kind: "npmInstall", packages: ["/etc"] }, /local path/],
    [{ kind: "npmInstall", packages: [] }, /"packages" must be a non-empty array/],
    [{ kind: "npmInstall", packages: [3] }, /non-empty string/],
    [{ kind: "env", values: { "1BAD": "x" } }, /key "1BAD" is not an environment variable name/],
    [{ kind: "env", values: { OK: 1 } }, /the value of OK must be a string/],
    [{ kind: "env", values: { OK: "a\0b" } }, /NUL/],
    [{ kind: "runCommands", commands: [""] }, /non-empty string/],
    [{ kind: "runCommands", commands: "echo" }, /"commands" must be a non-empty array/],
    [{ kind: "files", path: "../outside", blob: BLOB }, /must be relative and stay inside the upload/],
    [{ kind: "files", path: "/abs", blob: BLOB }, /must be relative/],
    [{ kind: "files", path: "ok.json", blob: "nothex" }, /"blob" must be a sha256/],
    [{ kind: "apt", packages: ["x"] }, /"kind" must be npmInstall, env, runCommands or files/],
  ])("refuses %j", (step, message) => {
    expect(refusal({ steps: [step] })).toMatch(message);
  });

  test("an image must be an object with an array of steps, not too many", () => {
    expect(() => validateClientMessage({ type: "image.build", id: 1 })).toThrow(/"image" must be an object/);
    expect(refusal({ steps: {} })).toMatch(/"steps" must be an array/);
    expect(refusal({ steps: Array(257).fill({ kind: "env", values: { A: "1" } }) })).toMatch(/over the most of 256/);
  });

  test("a function's image option is checked in app.create, and kept as checked", () => {
    const fn = { name: "A.f", className: "A", methodName: "f", kind: "function", params: [] };
    const create = (image: unknown) => ({
      type: "app.create",
      id: 1,
      manifest: { entry: "main.js", projectRoot: "/p", functions: [{ ...fn, options: { ...DEFAULT_FUNCTION_OPTIONS, image } }] },
      files: [],
    });
    expect(() => validateClientMessage(create({ steps: [{ kind: "npmInstall", packages: ["-g"] }] }))).toThrow(/function A\.f: option "image": steps\[0\]: package "-g" looks like an npm flag/);
    const parsed = validateClientMessage(create({ steps: [{ kind: "env", values: { A: "1" }, junk: true }] }));
    expect(parsed.type === "app.create" && parsed.manifest.functions[0].options.image).toEqual({ steps: [{ kind: "env", values: { A: "1" } }] });
  });

  test("the build steps leave out files steps, which land with the code", () => {
    expect(imageBuildSteps({ steps: [{ kind: "files", path: "x", blob: BLOB }, { kind: "env", values: { A: "1" } }] })).toEqual([{ kind: "env", values: { A: "1" } }]);
    expect(imageBuildSteps(undefined)).toEqual([]);
  });
});
