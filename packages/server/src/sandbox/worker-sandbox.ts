import { UsageError, type WorkerConfig } from "@stubrun/protocol";
import { WORKER_MAIN } from "@stubrun/worker";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bwrapArgs } from "./bwrap-args";

/** `STUBRUN_SANDBOX`: `on` requires the sandbox, `off` runs workers as plain processes, `auto` (the default) sandboxes where it can. */
export type SandboxMode = "auto" | "on" | "off";

/** How a worker's Node process is launched: the program, and the arguments before the worker's own. */
export interface WorkerLaunch {
  execPath: string;
  execArgv: string[];
  /** Removes what the launch made for this worker (its Volumes' folders): call it once the worker exited. */
  cleanup?: () => void;
  /** A sandbox's: whether a sandbox started ahead can serve this worker instead (no Volumes, the network open). */
  aheadOk?: boolean;
}

/** Runs workers inside bubblewrap (see bwrap-args.ts). */
export class WorkerSandbox {
  /** What the server and nodes say at start about the isolation in force. */
  static readonly DESCRIPTION =
    "workers run sandboxed (bubblewrap): their app's code read-only, a private /tmp, their own PID namespace; no view of STUBRUN_HOME, other apps or the server";

  private constructor(
    private readonly bwrap: string,
    private readonly runtimeDirs: string[],
    /** Who a worker's Node runs as, on a server run as root (`nobody`); else the server's own user. */
    private readonly runAs: { uid: number; gid: number } | undefined,
  ) {}

  /** The sandbox `mode` asks for, or none (with why); `on` without bubblewrap is a usage error that says how to get it. */
  static choose(mode: SandboxMode): { sandbox?: WorkerSandbox; notice: string; whyNot?: string } {
    const unsandboxed = (whyNot: string) => ({ whyNot, notice: `workers are NOT sandboxed (${whyNot}): a function can read and change what the server's user can` });
    if (mode === "off") return unsandboxed("STUBRUN_SANDBOX=off");
    const problem = bwrapProblem();
    if (problem === undefined) {
      // setpriv is util-linux's, on every Debian; without it a root server's workers stay root (without capabilities).
      const runAs = process.getuid?.() === 0 && spawnSync("setpriv", ["--version"], { stdio: "ignore" }).status === 0 ? NOBODY : undefined;
      return { sandbox: new WorkerSandbox("bwrap", runtimeDirs(), runAs), notice: `${WorkerSandbox.DESCRIPTION}${runAs ? `; as user ${runAs.uid} (nobody), not root` : ""}` };
    }
    if (mode === "on") throw new UsageError(`STUBRUN_SANDBOX=on, but workers cannot be sandboxed: ${problem}`);
    return unsandboxed(problem);
  }

  /**
   * How to start a worker of `config` with a V8 heap of `memoryMb`, its network cut when
   * `network` is false. Each of its Volumes gets an empty folder of its own on the host, shown
   * writable at the mount path; the worker loads the Volume's head into it (worker/src/volumes.ts).
   */
  launch(config: WorkerConfig, memoryMb: number, network: boolean): WorkerLaunch {
    const volumes = config.volumes ?? [];
    const root = volumes.length > 0 ? fs.mkdtempSync(path.join(os.tmpdir(), `stubrun-volumes-${config.workerId}-`)) : undefined;
    const mounts = volumes.map((v, i) => {
      const hostDir = path.join(root as string, String(i));
      fs.mkdirSync(hostDir, { mode: 0o700 });
      // The worker's user writes it; the folder above it keeps other users of the host out.
      if (this.runAs) fs.chownSync(hostDir, this.runAs.uid, this.runAs.gid);
      return { hostDir, path: v.path };
    });
    const layout = { codeDir: config.codeDir, imageDir: config.imageDir, runtimeDirs: this.runtimeDirs, home: process.env.HOME, network, mounts, ...this.user() };
    return {
      execPath: this.bwrap,
      execArgv: [...bwrapArgs(layout), ...this.node(memoryMb)],
      aheadOk: volumes.length === 0 && network,
      ...(root ? { cleanup: () => fs.rmSync(root, { recursive: true, force: true }) } : {}),
    };
  }

  /**
   * How to start a worker ahead, before its function is known: no code yet, `slots` (empty host
   * folders) shown read-only at the parents of code and image folders, the network open, and
   * the whole sandbox inside the namespace of process `holderPid`, where the function's folders
   * are mounted into its slots when it is taken (late-mounts.ts).
   */
  launchAhead(memoryMb: number, slots: { hostDir: string; path: string }[], holderPid: number): WorkerLaunch {
    const layout = { runtimeDirs: this.runtimeDirs, home: process.env.HOME, network: true, slots, ...this.user() };
    return {
      execPath: "nsenter",
      execArgv: ["--target", String(holderPid), "--mount", "--", this.bwrap, ...bwrapArgs(layout), ...this.node(memoryMb)],
    };
  }

  /**
   * Node inside the sandbox, as `runAs` when set (setpriv leaves it no capability and no way to
   * get one back). bwrap sets PWD for its --chdir, which a plain worker has not (SPEC §2's
   * environment): env drops it.
   */
  private node(memoryMb: number): string[] {
    const user = this.runAs ? ["setpriv", `--reuid=${this.runAs.uid}`, `--regid=${this.runAs.gid}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"] : [];
    return [...user, "/usr/bin/env", "-u", "PWD", process.execPath, `--max-old-space-size=${memoryMb}`];
  }

  private user(): { runAs?: { uid: number; gid: number } } {
    return this.runAs ? { runAs: this.runAs } : {};
  }
}

/** The user a root server's sandboxed workers run as. */
const NOBODY = { uid: 65534, gid: 65534 };

/** Reads STUBRUN_SANDBOX; anything but auto, on and off is a usage error. */
export function sandboxModeFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxMode {
  const value = env.STUBRUN_SANDBOX || "auto";
  if (value === "auto" || value === "on" || value === "off") return value;
  throw new UsageError(`STUBRUN_SANDBOX must be auto, on or off, got ${JSON.stringify(value)}`);
}

/** Why bubblewrap cannot isolate a worker here, or undefined when it can (tried once: a namespace that cannot be made fails here, not at each call). */
function bwrapProblem(): string | undefined {
  const tried = spawnSync("bwrap", ["--ro-bind", "/", "/", "--proc", "/proc", "--unshare-pid", "--die-with-parent", "true"], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (tried.error && (tried.error as NodeJS.ErrnoException).code === "ENOENT") return "bubblewrap is not installed (Debian: apt-get install bubblewrap)";
  if (tried.status !== 0) return `bubblewrap cannot make namespaces here (${(tried.stderr || String(tried.error ?? tried.status)).trim()})`;
  return undefined;
}

/**
 * What a worker needs of stubrun's install: Node's own folder, and every `node_modules` the
 * worker's entry resolves packages from, with the real folders of its linked packages (a
 * workspace's `@stubrun/*` links).
 */
function runtimeDirs(): string[] {
  const dirs = new Set<string>([path.dirname(path.dirname(fs.realpathSync(process.execPath)))]);
  for (let dir = path.dirname(fs.realpathSync(WORKER_MAIN)); ; dir = path.dirname(dir)) {
    const modules = path.join(dir, "node_modules");
    if (fs.existsSync(modules)) {
      dirs.add(modules);
      for (const link of linkedPackages(modules)) dirs.add(link);
    }
    if (path.dirname(dir) === dir) break;
  }
  dirs.add(path.dirname(path.dirname(fs.realpathSync(WORKER_MAIN))));
  return [...dirs];
}

/** The real folders of the symlinked packages in a node_modules (one level of scopes). */
function linkedPackages(modules: string): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) found.push(fs.realpathSync(full));
      else if (entry.isDirectory() && entry.name.startsWith("@") && dir === modules) visit(full);
    }
  };
  visit(modules);
  return found;
}
