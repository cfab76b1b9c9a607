import {
  commandProblem,
  envValueProblem,
  packageSpecProblem,
  SECRET_KEY_PATTERN,
  UsageError,
  type ImageManifest,
  type ImageStep,
} from "@stubrun/protocol";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A local file or folder an image adds: `source` is its absolute path where the code was
 * described, `path` the path as the code gave it. The CLI packs it; nothing here reads the disk.
 */
export interface LocalFilesStep {
  kind: "localFile" | "localDir";
  source: string;
  path: string;
}

/** A step as the SDK records it: a manifest build step, or local files the CLI packs later. */
type RecordedStep = Exclude<ImageStep, { kind: "files" }> | LocalFilesStep;

/** Packs local files for the manifest: where they land (relative to the upload's root) and their blob. */
export type PackLocalFiles = (step: LocalFilesStep) => { path: string; blob: string };

/**
 * The environment a function's workers run in (SPEC §2 Images): `Image.node()`, then steps in
 * order. Each method returns a new Image (an image is never changed in place), so one base can
 * be shared: `const base = Image.node().npmInstall("left-pad@1.3.0")`. Built once where the
 * workers run, cached by its content. Give it as `new Stub(name, { image })` or
 * `@stub.function({ image })` (the function's replaces the stub's).
 */
export class Image {
  private constructor(private readonly steps: readonly RecordedStep[]) {}

  /** Plain Node (the Node that runs the workers), with no step yet. */
  static node(): Image {
    return new Image([]);
  }

  /**
   * Installs npm packages into the image: `npmInstall("left-pad@1.3.0", "is-odd@^3")`. The
   * function imports them dynamically (`await import(name)`), since they need not exist where the
   * CLI runs.
   */
  npmInstall(...packages: string[]): Image {
    if (packages.length === 0) throw new UsageError('Image.npmInstall(): give at least one package, like npmInstall("left-pad@1.3.0")');
    for (const spec of packages) {
      const why = packageSpecProblem(spec);
      if (why !== undefined) throw new UsageError(`Image.npmInstall(): ${why}`);
    }
    return this.with({ kind: "npmInstall", packages: [...packages] });
  }

  /** Sets environment variables for the later steps and for the function's workers (its secrets win on a clash). */
  env(values: Record<string, string>): Image {
    if (typeof values !== "object" || values === null || Array.isArray(values)) throw new UsageError('Image.env(values): values must be an object of strings, like env({ MODE: "fast" })');
    const copy: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
      if (!SECRET_KEY_PATTERN.test(key)) throw new UsageError(`Image.env(): key ${JSON.stringify(key)} is not an environment variable name (letters, digits and "_", not starting with a digit)`);
      const why = envValueProblem(key, value);
      if (why !== undefined) throw new UsageError(`Image.env(): ${why}`);
      copy[key] = value;
    }
    if (Object.keys(copy).length === 0) throw new UsageError('Image.env(): give at least one variable, like env({ MODE: "fast" })');
    return this.with({ kind: "env", values: copy });
  }

  /**
   * Runs shell commands (`sh -c`) in the image's folder when it is built, in order; the packages
   * installed so far are on PATH. What they write there is in the image: a function finds it
   * under `process.env.STUBRUN_IMAGE_DIR`.
   */
  runCommands(...commands: string[]): Image {
    if (commands.length === 0) throw new UsageError('Image.runCommands(): give at least one command, like runCommands("echo hi > hello.txt")');
    for (const command of commands) {
      const why = commandProblem(command);
      if (why !== undefined) throw new UsageError(`Image.runCommands(): ${why}`);
    }
    return this.with({ kind: "runCommands", commands: [...commands] });
  }

  /**
   * Adds a local file, at the same place relative to the uploaded code as it is relative to the
   * code here: `path` is relative to the file that calls this method (or absolute).
   */
  addLocalFile(localPath: string): Image {
    return this.with(localStep("localFile", "addLocalFile", localPath));
  }

  /** Adds a local folder and everything in it, like `addLocalFile` does a file. */
  addLocalDir(localPath: string): Image {
    return this.with(localStep("localDir", "addLocalDir", localPath));
  }

  /** Never shows more than the kinds of steps: `Image(node, npmInstall, env)`. */
  toString(): string {
    return `Image(${["node", ...this.steps.map((s) => s.kind)].join(", ")})`;
  }

  toJSON(): string {
    return this.toString();
  }

  private with(step: RecordedStep): Image {
    return new Image([...this.steps, step]);
  }

  /** The recorded steps (internal: `imageManifest` reads them). */
  static stepsOf(image: Image): readonly RecordedStep[] {
    return image.steps;
  }
}

/**
 * The manifest of an image, for the CLI: build steps as they are, and each local file or folder
 * packed by `pack` into a `files` step.
 */
export function imageManifest(image: Image, pack: PackLocalFiles): ImageManifest {
  return {
    steps: Image.stepsOf(image).map((step): ImageStep => {
      if (!isLocalFiles(step)) return structuredClone(step);
      const { path: landing, blob } = pack(step);
      return { kind: "files", path: landing, blob };
    }),
  };
}

function isLocalFiles(step: RecordedStep): step is LocalFilesStep {
  return step.kind === "localFile" || step.kind === "localDir";
}

/** Checks an `image` option: an Image. */
export function checkImage(value: unknown, where: string): Image {
  if (!(value instanceof Image)) throw new UsageError(`${where}: "image" must be an Image, like Image.node().npmInstall("left-pad@1.3.0")`);
  return value;
}

function localStep(kind: LocalFilesStep["kind"], method: string, localPath: string): LocalFilesStep {
  if (typeof localPath !== "string" || localPath === "" || localPath.includes("\0")) {
    throw new UsageError(`Image.${method}(path): path must be a non-empty string, relative to the file that calls ${method}, like ${method}("${kind === "localFile" ? "rates.json" : "data"}")`);
  }
  return { kind, source: path.resolve(callerDirectory(), localPath), path: localPath };
}

/**
 * The directory of the file that called into this module, from the call stack (the CLI loads
 * `.ts` files under their own absolute names). Only the stack is read, never the disk: the same
 * code runs in workers, where the files need not exist. Falls back to the working directory.
 */
function callerDirectory(): string {
  const saved = Error.prepareStackTrace;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerDirectory);
    sites = (holder.stack as NodeJS.CallSite[] | undefined) ?? [];
  } finally {
    Error.prepareStackTrace = saved;
  }
  for (const site of sites) {
    let file = site.getFileName() ?? undefined;
    if (file === undefined || file === __filename || file.startsWith("node:")) continue;
    if (file.startsWith("file://")) file = fileURLToPath(file);
    if (path.isAbsolute(file)) return path.dirname(file);
  }
  return process.cwd();
}
