import fs from "node:fs";
import path from "node:path";
import { isProcessAlive } from "@stubrun/protocol";

/** The lock file: `$STUBRUN_HOME/server.lock`, holding the pid of the server that owns the home. */
export function lockFilePath(home: string): string {
  return path.join(home, "server.lock");
}

/** The outcome of trying to take a home's lock. */
export type LockAttempt = { ok: true; lock: HomeLock } | { ok: false; pid: number };

/**
 * One server per `$STUBRUN_HOME`: a lock file created with O_EXCL (so of two servers starting at
 * the same moment exactly one gets it) that holds the owner's pid. A lock whose pid is dead
 * (a server killed with -9) is stale and is broken, with care that two servers breaking it at
 * once do not both end up holding it. Take it before opening the database.
 */
export class HomeLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly file: string) {
    process.once("exit", this.onExit);
  }

  /** Takes the lock, or says which live process holds it. */
  static acquire(home: string, pid = process.pid): LockAttempt {
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    const file = lockFilePath(home);
    let waits = 0;
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        const fd = fs.openSync(file, "wx", 0o600);
        try {
          fs.writeSync(fd, `${pid}\n`);
        } finally {
          fs.closeSync(fd);
        }
        return { ok: true, lock: new HomeLock(file) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = readPid(file);
      if (holder === undefined && waits++ < 20) {
        // Just created and not written yet, or gone since: look again shortly.
        sleepSync(25);
        continue;
      }
      if (holder !== undefined && holder !== pid && isProcessAlive(holder)) return { ok: false, pid: holder };
      breakStaleLock(file, holder);
    }
    throw new Error(`could not take the lock ${file}; if no stubrun server runs on this STUBRUN_HOME, remove it`);
  }

  /** Lets the lock go (the file is removed only if it is still ours). Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener("exit", this.onExit);
    if (readPid(this.file) === process.pid) fs.rmSync(this.file, { force: true });
  }
}

/**
 * Moves the stale lock aside and removes it; if what was moved turns out to be a live server's
 * lock (it took the lock between our look and the move), puts it back.
 */
function breakStaleLock(file: string, stalePid: number | undefined): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else moved it: try again
  }
  const moved = readPid(aside);
  if (moved !== undefined && moved !== stalePid && isProcessAlive(moved)) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // a third server took the lock meanwhile: it holds it now
    }
  }
  fs.rmSync(aside, { force: true });
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
