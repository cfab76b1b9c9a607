import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { HomeLock, lockFilePath } from "../src/state/home-lock";

/** Issue 7 point 8: one server per home, by a lock file created with O_EXCL. */

let home: string;
beforeEach(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-lock-"))));
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

/** A pid that was alive a moment ago and is not any more. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
}

describe("HomeLock", () => {
  test("is taken once: the file holds the pid; release removes it", () => {
    const attempt = HomeLock.acquire(home);
    expect(attempt.ok).toBe(true);
    expect(fs.readFileSync(lockFilePath(home), "utf8")).toBe(`${process.pid}\n`);
    if (attempt.ok) attempt.lock.release();
    expect(fs.existsSync(lockFilePath(home))).toBe(false);
  });

  test("a live holder keeps it: the attempt names its pid", () => {
    fs.writeFileSync(lockFilePath(home), `${process.ppid}\n`);
    expect(HomeLock.acquire(home)).toEqual({ ok: false, pid: process.ppid });
    expect(fs.readFileSync(lockFilePath(home), "utf8")).toBe(`${process.ppid}\n`);
  });

  test.each([
    ["a dead pid", () => `${deadPid()}\n`],
    ["nothing (a crash between create and write)", () => ""],
    ["garbage", () => "not a pid"],
  ])("a stale lock holding %s is taken over", (_what, content) => {
    fs.writeFileSync(lockFilePath(home), content());
    const attempt = HomeLock.acquire(home);
    expect(attempt.ok).toBe(true);
    expect(fs.readFileSync(lockFilePath(home), "utf8")).toBe(`${process.pid}\n`);
    expect(fs.readdirSync(home)).toEqual(["server.lock"]); // nothing left aside
    if (attempt.ok) attempt.lock.release();
  });

  test("release leaves a lock that is no longer ours alone", () => {
    const attempt = HomeLock.acquire(home);
    fs.writeFileSync(lockFilePath(home), `${process.ppid}\n`);
    if (attempt.ok) attempt.lock.release();
    expect(fs.readFileSync(lockFilePath(home), "utf8")).toBe(`${process.ppid}\n`);
  });
});
