import fs from "node:fs";

/** A process, named by its pid and its start time, so a pid reused meanwhile is never mistaken for it. */
export interface ProcessRef {
  pid: number;
  start: string;
}

/** The fields of /proc/PID/stat after "comm" (which may hold spaces and parentheses), from field 3 on. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // gone, or no /proc here
  }
}

/**
 * Every live descendant of `pid`, read from /proc (Linux; elsewhere none). A function may start
 * a child in a process group of its own (`detached: true`), out of reach of a kill of the
 * worker's group: it is still the worker's descendant while the worker lives.
 */
export function descendantsOf(pid: number): ProcessRef[] {
  const children = childrenByParent();
  const found: ProcessRef[] = [];
  const seen = new Set([pid]);
  const todo = [pid];
  while (todo.length > 0) {
    for (const child of children.get(todo.pop() as number) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.push(child);
      todo.push(child.pid);
    }
  }
  return found;
}

/** The processes by parent pid, read once per turn of the event loop: stopping an app's workers reads /proc once. */
let snapshot: Map<number, ProcessRef[]> | undefined;

function childrenByParent(): Map<number, ProcessRef[]> {
  if (snapshot) return snapshot;
  const children = new Map<number, ProcessRef[]>();
  let entries: string[] = [];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    // no /proc here: no descendants known
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (!fields) continue;
    const ppid = Number(fields[1]);
    const ref = { pid: Number(entry), start: fields[19] };
    const list = children.get(ppid);
    if (list) list.push(ref);
    else children.set(ppid, [ref]);
  }
  snapshot = children;
  setImmediate(() => (snapshot = undefined)).unref();
  return children;
}

function sigkill(target: number): void {
  try {
    process.kill(target, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * SIGKILLs a worker and everything it started: its process group (the worker leads one), and
 * every descendant that moved to a group of its own. Best effort: what is already gone is skipped.
 */
export function killProcessTree(pid: number): void {
  const descendants = descendantsOf(pid);
  sigkill(-pid);
  sigkill(pid);
  for (const ref of descendants) sigkill(ref.pid);
}

/**
 * SIGKILLs what is left of a worker whose process has exited: its process group, and the
 * processes of `known` (descendants seen earlier) that are still the same processes.
 */
export function killLeftovers(pgid: number, known: ProcessRef[]): void {
  sigkill(-pgid);
  for (const ref of known) if (statFields(ref.pid)?.[19] === ref.start) sigkill(ref.pid);
}
