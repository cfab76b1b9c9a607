import type { WorkerConfig } from "@stubrun/protocol";
import path from "node:path";
import type { LateMounts } from "./late-mounts";
import type { WorkerLaunch, WorkerSandbox } from "./worker-sandbox";

/**
 * Sandboxed workers started ahead (dispatcher/worker-pool-prestart.ts): each sandbox has a slot
 * of empty folders shown at `roots` (where code and image folders live, `<home>/code` and
 * `<home>/images`); the function's own folders are mounted into it when it is taken, so it sees
 * them at their usual paths and nothing else of the roots.
 */
export class SandboxesAhead {
  private seq = 0;
  /** Each slot's host folders, one per root. */
  private readonly slots = new Map<string, string[]>();

  constructor(
    private readonly sandbox: WorkerSandbox,
    private readonly mounts: LateMounts,
    private readonly roots: string[],
  ) {}

  /** False once the namespace they run in is gone: no more can start. */
  get alive(): boolean {
    return this.mounts.alive;
  }

  /** How to start one sandbox ahead, and the slot that is its. */
  launch(memoryMb: number): { launch: WorkerLaunch; slot: string } {
    const slot = String(++this.seq);
    const dirs = this.mounts.newSlot(slot, this.roots.length);
    this.slots.set(slot, dirs);
    return { slot, launch: this.sandbox.launchAhead(memoryMb, dirs.map((hostDir, i) => ({ hostDir, path: this.roots[i] })), this.mounts.pid) };
  }

  /** Whether a sandbox started ahead can be the worker of `config`, which would be launched as `launch`. */
  canServe(config: WorkerConfig, launch: WorkerLaunch | undefined): boolean {
    if (!this.mounts.alive || launch?.aheadOk !== true) return false;
    return [config.codeDir, config.imageDir].every((dir) => dir === undefined || this.roots.includes(path.dirname(dir)));
  }

  /** Mounts the folders of `config` into `slot`, read-only: resolves once its sandbox sees them. */
  async prepare(slot: string, config: WorkerConfig): Promise<void> {
    const dirs = this.slots.get(slot);
    if (!dirs) throw new Error(`no sandbox slot ${slot}`);
    for (const dir of [config.codeDir, config.imageDir]) {
      if (dir === undefined) continue;
      await this.mounts.mount(slot, dirs[this.roots.indexOf(path.dirname(dir))], path.basename(dir), dir);
    }
  }

  /** Its sandbox has gone: what was mounted for it goes too. */
  release(slot: string): void {
    this.slots.delete(slot);
    void this.mounts.release(slot);
  }
}
