import fs from "node:fs";

/**
 * Whether a process with this pid is running. A zombie (exited, not yet reaped) counts as gone:
 * a daemon whose parent left is reaped by PID 1, which in some containers never does it, and its
 * zombie must not hold the home's lock or keep `server stop` waiting forever.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (not Linux): kill(0) is all we know
  }
}
