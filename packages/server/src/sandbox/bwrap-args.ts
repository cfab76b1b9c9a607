import fs from "node:fs";
import path from "node:path";

/** What one sandboxed worker may see. */
export interface SandboxLayout {
  /** The app's code folder: read-only, the worker's working directory. Absent for a sandbox started ahead (it works in `/` until told its code). */
  codeDir?: string;
  /** The function's built image, if any: read-only. */
  imageDir?: string;
  /** Folders of stubrun's own runtime (node, the worker package and what it requires): read-only. */
  runtimeDirs: string[];
  /** The worker's HOME: an empty private folder there. */
  home?: string;
  /** False: a network namespace of its own (loopback only, and no way out). */
  network: boolean;
  /**
   * Empty folders of the host shown read-only at a path inside (the parents of code and image
   * folders): a sandbox started ahead gets its function's folders mounted into them later (late-mounts.ts).
   */
  slots?: { hostDir: string; path: string }[];
  /** Writable folders of the host shown at a path inside (a Volume's copy for this worker). */
  mounts?: { hostDir: string; path: string }[];
  /**
   * Set when the server runs as root: the worker's Node then runs as this user (`setpriv`, after
   * bubblewrap has mounted everything as root), so it owns nothing of the host's.
   */
  runAs?: { uid: number; gid: number };
}

/** The system's folders a Node process needs (programs, libraries, certificates, DNS): read-only where they exist. */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"];

/**
 * The bubblewrap arguments for one worker: a mount namespace holding only the system, the
 * runtime, its image and its app's code (all read-only), a private /tmp and HOME, a fresh /proc
 * and /dev in a PID namespace of its own (the server and other workers are not there to see,
 * signal or trace), no capabilities, and it dies with its parent. Later mounts go over earlier
 * ones, so the code shows through a private /tmp when it lives under /tmp; a Volume's folder,
 * the one writable place besides /tmp and HOME, goes last.
 *
 * With `runAs`, the folders bubblewrap makes on the way to a mount are made 0755 (it would copy
 * the host's 0700 of a private temporary folder, which that user could not cross), /tmp and HOME
 * are writable by that user, and the sandbox keeps only the capabilities `setpriv` needs to
 * become it, which it then drops.
 */
export function bwrapArgs(layout: SandboxLayout): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) if (fs.existsSync(dir)) args.push("--ro-bind", dir, dir);
  args.push("--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp");
  const home = layout.home && layout.home !== "/" && !SYSTEM_DIRS.some((d) => isWithin(layout.home as string, d)) ? layout.home : undefined;
  if (home) args.push(...(layout.runAs ? ["--perms", "0777"] : []), "--tmpfs", home);
  const made = new Set<string>(["/", "/tmp", "/proc", "/dev", ...(home ? [home] : [])]);
  /** The folders on the way to `dest` that bubblewrap would make, made crossable first. */
  const parents = (dest: string): string[] => {
    if (!layout.runAs) return [];
    const out: string[] = [];
    for (let dir = path.dirname(dest); !made.has(dir) && !SYSTEM_DIRS.some((d) => isWithin(dir, d)); dir = path.dirname(dir)) {
      made.add(dir);
      out.unshift("--perms", "0755", "--dir", dir);
    }
    return out;
  };
  for (const dir of unique([...layout.runtimeDirs, ...(layout.imageDir ? [layout.imageDir] : []), ...(layout.codeDir ? [layout.codeDir] : [])])) args.push(...parents(dir), "--ro-bind", dir, dir);
  for (const slot of layout.slots ?? []) args.push(...parents(slot.path), "--ro-bind", slot.hostDir, slot.path);
  for (const mount of layout.mounts ?? []) args.push(...parents(mount.path), "--bind", mount.hostDir, mount.path);
  args.push("--chdir", layout.codeDir ?? "/");
  args.push("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try");
  if (!layout.network) args.push("--unshare-net");
  args.push("--die-with-parent", "--cap-drop", "ALL");
  if (layout.runAs) args.push("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID");
  return args;
}

function isWithin(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/** Each folder once, and none inside another already listed (its parent's bind shows it). */
function unique(dirs: string[]): string[] {
  const sorted = [...new Set(dirs.map((d) => path.resolve(d)))].sort((a, b) => a.length - b.length);
  return sorted.filter((dir, i) => !sorted.slice(0, i).some((parent) => isWithin(dir, parent)));
}
