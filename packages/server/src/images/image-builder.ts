import { describeImageStep, imageBuildSteps, RequestRefusedError, type ImageBuildResult, type ImageBuildStep, type ImageManifest } from "@stubrun/protocol";
import fs from "node:fs";
import path from "node:path";
import type { ServerLimits } from "../config/limits";
import { runBuildProcess } from "./build-process";
import { buildEnv, npmCommand } from "./build-env";
import { imageHash, shortImageHash } from "./image-hash";
import type { ImageStore } from "./image-store";

/** One line of a build log; a step's first line carries which step it is. */
export interface ImageLogEntry {
  line: string;
  step?: { index: number; count: number };
}

/** The limits an image build is held to. */
export type ImageBuilderLimits = Pick<ServerLimits, "imageBuildTimeoutSeconds" | "maxImageLogLines">;

/** Lines of the log a failed build's error carries. */
const TAIL_LINES = 40;
/** Longest log line kept (a minified blob on one line would fill the tail). */
const MAX_LINE = 2_000;

/** A build under way: its log so far, who follows it, and its end. */
interface Build {
  entries: ImageLogEntry[];
  dropped: number;
  listeners: Set<(entry: ImageLogEntry) => void>;
  done: Promise<void>;
}

/**
 * Builds images where the workers run (SPEC §2 Images), into the ImageStore, cached by content
 * hash across apps and restarts. Two requests for the same image at once share one build: the
 * second replays the log so far and follows the rest. Steps in order: `npmInstall` runs this
 * Node's npm into the image's folder, `env` sets variables for later steps (and for workers),
 * `runCommands` runs `sh -c` in the image's folder. A failed build leaves nothing behind and is
 * not cached: the next request builds again.
 */
export class ImageBuilder {
  private readonly building = new Map<string, Build>();
  private readonly closing = new AbortController();

  constructor(
    private readonly store: ImageStore,
    private readonly limits: ImageBuilderLimits,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /**
   * Builds `image` (or finds it built, or joins its build under way); `onLog` gets every line of
   * the build's log. Rejects with a RequestRefusedError holding the log's tail when it fails.
   */
  async build(image: ImageManifest, onLog: (hash: string, entry: ImageLogEntry) => void): Promise<ImageBuildResult> {
    const steps = imageBuildSteps(image);
    const hash = imageHash(image);
    if (steps.length === 0 || this.store.isBuilt(hash)) return { image: hash, built: false, seconds: 0 };
    const started = Date.now();
    let build = this.building.get(hash);
    if (!build) build = this.start(hash, steps);
    // The log so far, then what follows: nothing is written in between (this is one turn).
    if (build.dropped > 0) onLog(hash, { line: `(${build.dropped} earlier lines of this build's log are not kept)` });
    for (const entry of build.entries) onLog(hash, entry);
    const listener = (entry: ImageLogEntry) => onLog(hash, entry);
    build.listeners.add(listener);
    try {
      await build.done;
    } finally {
      build.listeners.delete(listener);
    }
    return { image: hash, built: true, seconds: Math.round((Date.now() - started) / 100) / 10 };
  }

  /** Stops the builds under way (the server is closing); their requests fail. */
  async close(): Promise<void> {
    this.closing.abort("the server is shutting down");
    await Promise.all([...this.building.values()].map((b) => b.done.catch(() => undefined)));
  }

  private start(hash: string, steps: ImageBuildStep[]): Build {
    const build: Build = { entries: [], dropped: 0, listeners: new Set(), done: Promise.resolve() };
    const log = (entry: ImageLogEntry) => {
      const kept = entry.line.length > MAX_LINE ? { ...entry, line: `${entry.line.slice(0, MAX_LINE)}...` } : entry;
      build.entries.push(kept);
      if (build.entries.length > this.limits.maxImageLogLines) {
        build.entries.shift();
        build.dropped++;
      }
      for (const listener of build.listeners) listener(kept);
    };
    build.done = this.run(hash, steps, log, build).finally(() => this.building.delete(hash));
    this.building.set(hash, build);
    return build;
  }

  private async run(hash: string, steps: ImageBuildStep[], log: (entry: ImageLogEntry) => void, build: Build): Promise<void> {
    const started = Date.now();
    const timeoutSeconds = this.limits.imageBuildTimeoutSeconds;
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(`the build took longer than ${timeoutSeconds} s (limits.imageBuildTimeoutSeconds in $STUBRUN_HOME/config.json)`),
      timeoutSeconds * 1000,
    );
    const signal = AbortSignal.any([timeout.signal, this.closing.signal]);
    try {
      // Awaited first, so a failure to make the folder is reported like any failed step.
      await Promise.resolve();
      const dir = this.store.prepare(hash);
      // Its own package.json: npm installs here, and records each step's packages so a later step keeps them.
      fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify({ name: "stubrun-image", private: true }, null, 2)}\n`);
      const imageEnv: Record<string, string> = {};
      for (const [i, step] of steps.entries()) {
        log({ line: describeImageStep(step), step: { index: i + 1, count: steps.length } });
        const fail = (why: string) => new RequestRefusedError(failureMessage(hash, i + 1, steps.length, step, why, build));
        const run = async (command: string, args: string[]) => {
          const outcome = await runBuildProcess({ command, args, cwd: dir, env: buildEnv(dir, imageEnv, this.env), onLine: (line) => line.trim() !== "" && log({ line }), signal });
          if (!outcome.ok) throw fail(outcome.why);
        };
        if (step.kind === "env") Object.assign(imageEnv, step.values);
        else if (step.kind === "npmInstall") {
          const npm = npmCommand();
          await run(npm.command, [...npm.args, "install", "--no-audit", "--no-fund", "--prefix", dir, ...step.packages]);
        } else {
          for (const command of step.commands) await run("sh", ["-c", command]);
        }
      }
      this.store.markBuilt(hash, { steps, builtAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000 });
    } catch (error) {
      this.store.discard(hash);
      if (error instanceof RequestRefusedError) throw error;
      throw new RequestRefusedError(`image ${shortImageHash(hash)} could not be built: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Says which step failed and why, then the end of the build's log. */
function failureMessage(hash: string, index: number, count: number, step: ImageBuildStep, why: string, build: Build): string {
  const tail = build.entries.slice(-TAIL_LINES).map((e) => e.line);
  return `image ${shortImageHash(hash)} failed at step ${index}/${count} (${describeImageStep(step)}): ${why}\nThe end of its build log:\n${tail.join("\n")}`;
}
