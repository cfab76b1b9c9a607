import fs from "node:fs";

/** Bytes of a page, as `/proc/PID/statm` counts them (4 KiB on the machines stubrun runs on). */
const PAGE_BYTES = 4096;

/** A process's resident memory in bytes, from Linux's `/proc`; null where that cannot be read. */
export function residentBytes(pid: number): number | null {
  try {
    const resident = Number(fs.readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return Number.isFinite(resident) ? resident * PAGE_BYTES : null;
  } catch {
    return null;
  }
}
