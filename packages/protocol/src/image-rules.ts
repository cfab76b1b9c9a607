import type { ImageManifest, ImageStep } from "./manifest";

/**
 * What an image's steps may hold, shared by the SDK (which throws a UsageError when the image is
 * described) and the server (which refuses a manifest that breaks them). Each check returns why a
 * value is refused, in words that say how to fix it, or undefined when it is fine.
 */

/** Longest package spec, command or environment value accepted (a typo guard, not a quota). */
const MAX_TEXT = 64 * 1024;

/**
 * An npm package spec as `npm install` takes it: `name`, `name@version`, `@scope/name@range`, a
 * git or tarball URL. Refused: what npm would read as a flag (`-g`, `--prefix=...`), and local
 * paths, which would be read where the image is built (the server), not where the code is.
 */
export function packageSpecProblem(spec: unknown): string | undefined {
  if (typeof spec !== "string" || spec.trim() === "") return "a package must be a non-empty string like \"left-pad@1.3.0\"";
  if (spec.length > MAX_TEXT) return `package ${JSON.stringify(spec.slice(0, 40))}... is over ${MAX_TEXT} characters`;
  if (/[\s\0]/.test(spec)) return `package ${JSON.stringify(spec)} holds a space or a control character; give one package per argument: npmInstall("a@1", "b@2")`;
  if (spec.startsWith("-")) return `package ${JSON.stringify(spec)} looks like an npm flag; give package specs only, like "left-pad@1.3.0"`;
  if (/^(\.|\/|~|file:)/.test(spec)) return `package ${JSON.stringify(spec)} is a local path, which would be read where the image is built; add local files with addLocalDir() instead`;
  return undefined;
}

/** A shell command of `runCommands`: a non-empty string without NUL. */
export function commandProblem(command: unknown): string | undefined {
  if (typeof command !== "string" || command.trim() === "") return "a command must be a non-empty string like \"echo hi > hello.txt\"";
  if (command.includes("\0")) return "a command may not hold a NUL character";
  if (command.length > MAX_TEXT) return `command ${JSON.stringify(command.slice(0, 40))}... is over ${MAX_TEXT} characters`;
  return undefined;
}

/** An environment value of `env()`: a string without NUL (the key is checked with SECRET_KEY_PATTERN). */
export function envValueProblem(key: string, value: unknown): string | undefined {
  if (typeof value !== "string") return `the value of ${key} must be a string`;
  if (value.includes("\0")) return `the value of ${key} may not hold a NUL character`;
  if (value.length > MAX_TEXT) return `the value of ${key} is over ${MAX_TEXT} characters`;
  return undefined;
}

/** The steps that are built where the workers run (`files` steps are landed with the code instead). */
export type ImageBuildStep = Exclude<ImageStep, { kind: "files" }>;

/** An image's build steps, in order: what its content hash and its build are made of. */
export function imageBuildSteps(image: ImageManifest | undefined): ImageBuildStep[] {
  return (image?.steps ?? []).filter((step): step is ImageBuildStep => step.kind !== "files");
}

/** One line that names a build step, for progress: `npm install left-pad@1.3.0`, `env FOO, BAR`, `run echo hi`. */
export function describeImageStep(step: ImageBuildStep): string {
  switch (step.kind) {
    case "npmInstall":
      return `npm install ${step.packages.join(" ")}`;
    case "env":
      return `env ${Object.keys(step.values).join(", ")}`;
    case "runCommands":
      return `run ${step.commands.join("; ")}`;
  }
}
