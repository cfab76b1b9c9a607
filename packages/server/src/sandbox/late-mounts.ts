import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { guard } from "../dispatcher/guard";

/** How long one mount or unmount may take before it counts as failed. */
const COMMAND_TIMEOUT_MS = 10_000;

/**
 * Mounts a function's folders into sandboxes that were started before anyone knew which function
 * they would serve (a sandboxed worker started ahead, dispatcher/worker-pool-prestart.ts).
 *
 * A bubblewrap sandbox sees only what was mounted when it started. So a small process of ours (a
 * shell, the "holder") keeps a mount namespace of its own, made with `unshare --mount`, in which
 * the folder `slots` is a shared mount. Sandboxes started ahead run inside that namespace
 * (`nsenter`), each with its slot's folders bound read-only where the code and image folders live
 * (`<home>/code`, `<home>/images`); their copy of the slot is a slave of the holder's. When a
 * worker is taken for a function, the holder binds that function's code (and image) folder into
 * the slot, read-only, and mount propagation shows it inside that one sandbox at its usual path.
 *
 * The host's own mount table never changes: every mount lives in the holder's namespace, which
 * goes when the holder does (it reads its commands from the server, so it ends with it).
 * Making a mount namespace takes root; elsewhere `start` says why not, and sandboxed workers
 * start when they are needed, as before.
 */
export class LateMounts {
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private seq = 0;
  private buffered = "";
  /** What is mounted in each slot (by its id), and the staged mount each came from, to unmount when it goes. */
  private readonly mounted = new Map<string, { target: string; source: string; staged: Staged }[]>();
  /** Each source folder's read-only bind in `stage` (made once), while some slot holds it. */
  private readonly staged = new Map<string, Staged>();
  private closed = false;

  private constructor(
    private readonly holder: ChildProcess,
    /** Host folders, one per slot, each holding one folder per root. */
    private readonly slots: string,
    /** Where each source folder is bound and made read-only once, before slots bind it. */
    private readonly stage: string,
  ) {
    holder.stdout?.setEncoding("utf8").on("data", guard("the late mounts' answer", (chunk: string) => this.onOutput(chunk)));
    holder.stdout?.on("error", () => {});
    holder.stdin?.on("error", () => {});
    holder.once("exit", guard("the exit of the late mounts' holder", () => this.failAll(new Error("the process holding the sandboxes' mount namespace exited"))));
  }

  /**
   * Starts the holder, its namespace under `dir` (emptied first: nothing of a previous server's
   * is mounted there on the host). Undefined, with why, where a mount namespace cannot be made.
   */
  static async start(dir: string): Promise<{ mounts?: LateMounts; whyNot?: string }> {
    if (process.getuid?.() !== 0) return { whyNot: "making the mount namespace that mounts code into a sandbox started ahead takes root" };
    const slots = path.join(dir, "slots");
    const stage = path.join(dir, "stage");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(slots, { recursive: true, mode: 0o700 });
    fs.mkdirSync(stage, { mode: 0o700 });
    const holder = spawn("unshare", ["--mount", "--propagation", "slave", "sh"], { stdio: ["pipe", "pipe", "ignore"] });
    const mounts = new LateMounts(holder, slots, stage);
    const spawned = await new Promise<string | undefined>((resolve) => {
      holder.once("spawn", () => resolve(undefined));
      holder.once("error", (error) => resolve(error.message));
    });
    if (spawned !== undefined) return { whyNot: `unshare could not run (${spawned})` };
    try {
      // `slots` shared, so what lands in it later propagates into the sandboxes' copies; `stage` private.
      await mounts.run(`mount --bind ${q(slots)} ${q(slots)} && mount --make-shared ${q(slots)} && mount --bind ${q(stage)} ${q(stage)} && mount --make-private ${q(stage)}`);
    } catch (error) {
      mounts.close();
      return { whyNot: `the sandboxes' mount namespace could not be made (${(error as Error).message})` };
    }
    return { mounts };
  }

  /** The holder's pid: `nsenter --target PID --mount` runs a program in its namespace. */
  get pid(): number {
    return this.holder.pid as number;
  }

  get alive(): boolean {
    return !this.closed && this.holder.exitCode === null && this.holder.signalCode === null;
  }

  /** A new slot's host folders, one per root, empty: bind each read-only at its root in a sandbox. */
  newSlot(id: string, roots: number): string[] {
    const dirs = Array.from({ length: roots }, (_, i) => path.join(this.slots, id, String(i)));
    for (const dir of dirs) fs.mkdirSync(dir, { recursive: true });
    return dirs;
  }

  /** Binds `source` read-only at `name` inside a folder of slot `id` (from newSlot): its sandbox sees it there. */
  async mount(id: string, slotDir: string, name: string, source: string): Promise<void> {
    const target = path.join(slotDir, name);
    fs.mkdirSync(target, { recursive: true });
    const staged = this.stageOf(source);
    this.mounted.set(id, [...(this.mounted.get(id) ?? []), { target, source, staged }]);
    // A bind of a read-only mount is read-only from its first moment, in the slot and in the
    // sandbox's copy alike: one mount per worker.
    await this.run(`mount --bind ${q(await staged.dir)} ${q(target)}`);
  }

  /** Unmounts what a slot holds and removes its folders (its sandbox has gone). */
  async release(id: string): Promise<void> {
    const held = this.mounted.get(id) ?? [];
    this.mounted.delete(id);
    const unused: string[] = [];
    for (const { source, staged } of held) {
      if (--staged.users > 0) continue;
      if (this.staged.get(source) === staged) this.staged.delete(source);
      const dir = await staged.dir.catch(() => undefined);
      if (dir) unused.push(dir);
    }
    const targets = [...held.map((h) => h.target), ...unused];
    if (targets.length > 0 && this.alive) await this.run(targets.map((t) => `umount -l ${q(t)}`).join("; ")).catch(() => {});
    try {
      fs.rmSync(path.join(this.slots, id), { recursive: true, force: true });
      for (const dir of unused) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // still a mount point in the holder's namespace (its unmount failed): removed at close
    }
  }

  /**
   * The read-only bind of `source` in `stage`, made the first time a slot needs it, counted once
   * more. Made read-only there, where no sandbox sees it: a bind made read-only in a slot would
   * show writable in its sandbox for a moment (the remount does not propagate, the bind does).
   */
  private stageOf(source: string): Staged {
    let staged = this.staged.get(source);
    if (!staged) {
      const dir = path.join(this.stage, String(++this.seq));
      fs.mkdirSync(dir);
      const made: Staged = { dir: this.run(`mount --bind ${q(source)} ${q(dir)} && mount -o remount,bind,ro ${q(dir)}`).then(() => dir), users: 0 };
      // A failed one is made again by the next slot that needs it (its holders still count this one down).
      made.dir.catch(() => {
        if (this.staged.get(source) === made) this.staged.delete(source);
      });
      this.staged.set(source, made);
      staged = made;
    }
    staged.users++;
    return staged;
  }

  /** Ends the holder: its namespace, and every mount in it, go with it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.holder.stdin?.end();
    this.holder.kill("SIGKILL");
    this.failAll(new Error("the late mounts were closed"));
    // Only empty folders on the host: the mounts were in the holder's namespace.
    fs.rmSync(path.dirname(this.slots), { recursive: true, force: true });
  }

  /** Runs a shell command in the holder; resolves when it succeeded, rejects with its error output. */
  private run(command: string): Promise<void> {
    if (!this.alive) return Promise.reject(new Error("the process holding the sandboxes' mount namespace is gone"));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`a mount did not finish within ${COMMAND_TIMEOUT_MS / 1000} s`));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      // One line per command, its error output folded onto the answer line.
      this.holder.stdin?.write(`if out=$( { ${command}; } 2>&1 ); then echo "ok ${id}"; else echo "fail ${id} $(echo $out)"; fi\n`);
    });
  }

  private onOutput(chunk: string): void {
    this.buffered += chunk;
    let end: number;
    while ((end = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 1);
      const [status, id, ...rest] = line.split(" ");
      const waiter = this.pending.get(Number(id));
      if (!waiter) continue;
      this.pending.delete(Number(id));
      clearTimeout(waiter.timer);
      if (status === "ok") waiter.resolve();
      else waiter.reject(new Error(rest.join(" ") || "a mount failed"));
    }
  }

  private failAll(error: Error): void {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
      this.pending.delete(id);
    }
  }
}

/** A source folder bound read-only in `stage`, and how many slots hold a bind of it. */
interface Staged {
  dir: Promise<string>;
  users: number;
}

/** A shell word that is exactly `text`. */
function q(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

