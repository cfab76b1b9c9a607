import fs from "node:fs";
import path from "node:path";
import type { WorkerLaunch } from "./worker-sandbox";

/** Where cgroup hierarchies are mounted. */
const CGROUP_ROOT = "/sys/fs/cgroup";

/** How long a worker's cgroup may stay busy (its last processes dying) before it is left for `close`. */
const REMOVE_TRIES = 10;
const REMOVE_RETRY_MS = 500;

/** The cgroup files of one version: where limits are written, and where the kernel counts OOM kills. */
interface CgroupFlavor {
  version: 1 | 2;
  /** The server's own cgroup folder per controller ("memory", "cpu"); cpu may be missing. */
  memoryBase: string;
  cpuBase?: string;
}

/**
 * Real resource limits for workers with `memory` or `cpu`: a cgroup per such worker, under a
 * folder of this server's own inside the cgroup it runs in (v1's memory and cpu hierarchies, or
 * v2's unified one when it lets a child cgroup have the memory controller). The worker moves
 * itself in before Node starts (see `wrap`), so nothing it allocates escapes the limit.
 */
export class ResourceCgroups {
  private readonly live = new Set<string>();

  private constructor(private readonly flavor: CgroupFlavor) {}

  /** The cgroups this server can make, or none with why; said once at start. */
  static detect(ownPid = process.pid): { cgroups?: ResourceCgroups; notice: string } {
    const heapOnly = "the memory option caps each worker's V8 heap only";
    let flavor: CgroupFlavor | undefined;
    let problem: string;
    try {
      flavor = v1Flavor(ownPid) ?? v2Flavor(ownPid);
      problem = "no cgroup with a memory controller this server may write to";
    } catch (error) {
      problem = (error as Error).message;
    }
    if (!flavor) return { notice: `${heapOnly} (${problem}); cpu is a placement share only` };
    const where = flavor.memoryBase;
    return {
      cgroups: new ResourceCgroups(flavor),
      notice: `the memory option is a resident limit (cgroup v${flavor.version}, under ${where}) as well as the worker's V8 heap; cpu is a placement share${flavor.cpuBase ? " and a cgroup cpu weight" : ""}`,
    };
  }

  /** Makes the cgroup(s) of one worker; throws with why when the kernel refuses. */
  forWorker(workerId: string, memoryMb: number | undefined, cpu: number | undefined): WorkerCgroup | undefined {
    if (memoryMb === undefined && cpu === undefined) return undefined;
    const { version, memoryBase, cpuBase } = this.flavor;
    const dirs: string[] = [];
    const make = (base: string) => {
      const dir = path.join(base, workerId);
      fs.mkdirSync(dir);
      dirs.push(dir);
      this.live.add(dir);
      return dir;
    };
    try {
      const memoryDir = make(memoryBase);
      if (memoryMb !== undefined) {
        const bytes = String(memoryMb * 1024 * 1024);
        if (version === 1) {
          fs.writeFileSync(path.join(memoryDir, "memory.limit_in_bytes"), bytes);
          // Swap would let it go past the limit unnoticed; the file is there only with swap accounting.
          tryWrite(path.join(memoryDir, "memory.memsw.limit_in_bytes"), bytes);
        } else {
          fs.writeFileSync(path.join(memoryDir, "memory.max"), bytes);
          tryWrite(path.join(memoryDir, "memory.swap.max"), "0");
        }
      }
      const cpuDir = version === 2 ? memoryDir : cpuBase && cpu !== undefined ? make(cpuBase) : undefined;
      if (cpu !== undefined && cpuDir) {
        if (version === 1) tryWrite(path.join(cpuDir, "cpu.shares"), String(Math.max(2, Math.round(1024 * cpu))));
        else tryWrite(path.join(cpuDir, "cpu.weight"), String(Math.min(10_000, Math.max(1, Math.round(100 * cpu)))));
      }
      return new WorkerCgroup(dirs, memoryDir, version, (dir) => this.live.delete(dir));
    } catch (error) {
      for (const dir of dirs) removeDir(dir);
      throw new Error(`its cgroup could not be made in ${memoryBase} (${(error as Error).message})`);
    }
  }

  /** Removes what is left: workers' cgroups and this server's folders (once its workers are gone). */
  close(): void {
    for (const dir of this.live) removeDir(dir);
    this.live.clear();
    removeDir(this.flavor.memoryBase);
    if (this.flavor.cpuBase) removeDir(this.flavor.cpuBase);
  }
}

/** One worker's cgroup(s): how to start in them, whether the kernel killed it for memory, and removal. */
export class WorkerCgroup {
  constructor(
    private readonly dirs: string[],
    private readonly memoryDir: string,
    private readonly version: 1 | 2,
    private readonly forget: (dir: string) => void,
  ) {}

  /**
   * The launch through a shell that writes its own pid into the cgroups, then becomes the
   * program: the worker (or bubblewrap) is inside from its first instruction, with no window
   * where it runs unlimited. It exits 70 with a message if the kernel refuses the move.
   */
  wrap(launch: WorkerLaunch): WorkerLaunch {
    const moves = this.dirs.map((dir) => `echo $$ > ${shellQuote(path.join(dir, "cgroup.procs"))}`).join(" && ");
    const script = `{ ${moves}; } 2>/dev/null || { echo "stubrun: the worker could not enter its cgroup (${this.memoryDir})" >&2; exit 70; }; exec "$0" "$@"`;
    return { execPath: "/bin/sh", execArgv: ["-c", script, launch.execPath, ...launch.execArgv] };
  }

  /** Whether the kernel's OOM killer ended a process of this cgroup (its memory limit was hit). */
  oomKilled(): boolean {
    const file = path.join(this.memoryDir, this.version === 1 ? "memory.oom_control" : "memory.events");
    try {
      const match = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, "utf8"));
      return match !== null && Number(match[1]) > 0;
    } catch {
      return false;
    }
  }

  /** Removes the cgroups once their last process is gone (retried a few times while it dies). */
  remove(tries = REMOVE_TRIES): void {
    const left = this.dirs.filter((dir) => !removeDir(dir));
    for (const dir of this.dirs) if (!left.includes(dir)) this.forget(dir);
    if (left.length > 0 && tries > 1) setTimeout(() => new WorkerCgroup(left, this.memoryDir, this.version, this.forget).remove(tries - 1), REMOVE_RETRY_MS).unref();
  }
}

/** v1: the memory hierarchy's folder of this process, if a folder of ours can be made there. */
function v1Flavor(pid: number): CgroupFlavor | undefined {
  const lines = ownCgroups(pid);
  const memory = lines.find((l) => l.controllers.includes("memory"));
  if (!memory) return undefined;
  const memoryBase = ourFolder(path.join(CGROUP_ROOT, "memory", memory.path), pid);
  if (!fs.existsSync(path.join(memoryBase, "memory.limit_in_bytes"))) throw new Error(`${memoryBase} has no memory.limit_in_bytes`);
  const cpu = lines.find((l) => l.controllers.includes("cpu"));
  let cpuBase: string | undefined;
  if (cpu) {
    try {
      cpuBase = ourFolder(path.join(CGROUP_ROOT, "cpu", cpu.path), pid);
    } catch {
      // no cpu weight then; the memory limit still holds
    }
  }
  return { version: 1, memoryBase, ...(cpuBase ? { cpuBase } : {}) };
}

/** v2: a folder of ours under this process's cgroup, with the memory (and cpu) controllers for its children. */
function v2Flavor(pid: number): CgroupFlavor | undefined {
  const unified = ownCgroups(pid).find((l) => l.hierarchy === "0");
  if (!unified || !fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"))) return undefined;
  const own = path.join(CGROUP_ROOT, unified.path);
  const enabled = fs.readFileSync(path.join(own, "cgroup.subtree_control"), "utf8").split(/\s+/);
  // A cgroup that holds processes (the server's) cannot hand controllers to children unless it already does (the root, or delegated).
  if (!enabled.includes("memory")) {
    try {
      fs.writeFileSync(path.join(own, "cgroup.subtree_control"), "+memory");
    } catch (error) {
      throw new Error(`cgroup v2: ${own} does not give its children the memory controller and cannot be made to (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); run the server in a delegated cgroup (systemd-run --user -p Delegate=yes)`);
    }
  }
  const base = ourFolder(own, pid);
  const available = fs.readFileSync(path.join(base, "cgroup.controllers"), "utf8").split(/\s+/);
  fs.writeFileSync(path.join(base, "cgroup.subtree_control"), available.includes("cpu") ? "+memory +cpu" : "+memory");
  return { version: 2, memoryBase: base };
}

/** This process's cgroups, one per hierarchy ("4:memory:/a/b" or v2's "0::/a/b"). */
function ownCgroups(pid: number): { hierarchy: string; controllers: string[]; path: string }[] {
  return fs
    .readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [hierarchy, controllers, ...rest] = line.split(":");
      return { hierarchy, controllers: controllers.split(","), path: rest.join(":") };
    });
}

/** `stubrun-PID` in `parent`, made now; folders left by servers that are gone are removed first. */
function ourFolder(parent: string, pid: number): string {
  if (!fs.existsSync(parent)) throw new Error(`${parent} does not exist`);
  for (const name of fs.readdirSync(parent)) {
    const other = /^stubrun-(\d+)$/.exec(name);
    if (other && Number(other[1]) !== pid && !alive(Number(other[1]))) removeTree(path.join(parent, name));
  }
  const dir = path.join(parent, `stubrun-${pid}`);
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`cannot make a cgroup in ${parent} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A cgroup folder and its child cgroups (only empty ones can go: rmdir, never unlink). */
function removeTree(dir: string): void {
  try {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeTree(path.join(dir, entry.name));
  } catch {
    return;
  }
  removeDir(dir);
}

/** rmdir of a cgroup; true when it is gone. */
function removeDir(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

function tryWrite(file: string, value: string): void {
  try {
    fs.writeFileSync(file, value);
  } catch {
    // an optional knob this kernel lacks
  }
}

/** A path in single quotes for sh (a quote inside is closed, escaped and reopened). */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
