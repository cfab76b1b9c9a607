import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { ResourceCgroups } from "../src/sandbox/memory-cgroup";

/**
 * The cgroups of workers with `memory` or `cpu`, on this machine's own cgroups: where the test
 * may make them (root with cgroup v1, or a delegated v2), a process started through `wrap` is in
 * its worker's cgroup before its program runs, under the limit, and the cgroup goes with it.
 * Elsewhere `detect` says why there is none, and these tests check only that.
 */
const { cgroups, notice } = ResourceCgroups.detect();
afterAll(() => cgroups?.close());

test("detect says which memory enforcement is in force", () => {
  expect(notice).toMatch(cgroups ? /^the memory option is a resident limit \(cgroup v[12], under \/sys\/fs\/cgroup\/.*stubrun-\d+\)/ : /^the memory option caps each worker's V8 heap only \(.+\)/);
});

(cgroups ? test : test.skip)("a process started through wrap runs inside its cgroup, with the limit, and the cgroup is removed after", () => {
  const cgroup = cgroups?.forWorker("wk-unit-1", 96, 0.5);
  if (!cgroup) throw new Error("no cgroup made");
  const launch = cgroup.wrap({ execPath: "/bin/sh", execArgv: ["-c", "cat /proc/self/cgroup"] });
  const r = spawnSync(launch.execPath, launch.execArgv, { encoding: "utf8" });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/stubrun-\d+\/wk-unit-1$/m);
  const dir = r.stdout.match(/^\d+:(?:memory|):(.*stubrun-\d+\/wk-unit-1)$/m)?.[1] as string;
  const limitFile = fs.existsSync(`/sys/fs/cgroup/memory${dir}`) ? `/sys/fs/cgroup/memory${dir}/memory.limit_in_bytes` : `/sys/fs/cgroup${dir}/memory.max`;
  expect(fs.readFileSync(limitFile, "utf8").trim()).toBe(String(96 * 1024 * 1024));
  expect(cgroup.oomKilled()).toBe(false);
  cgroup.remove();
  expect(fs.existsSync(limitFile)).toBe(false);
});

(cgroups ? test : test.skip)("a process past the limit is killed by the kernel, and oomKilled says so", () => {
  const cgroup = cgroups?.forWorker("wk-unit-2", 64, undefined);
  if (!cgroup) throw new Error("no cgroup made");
  const hog = "const keep = []; for (;;) keep.push(Buffer.alloc(8 * 1024 * 1024, 1));";
  const launch = cgroup.wrap({ execPath: process.execPath, execArgv: ["-e", hog] });
  const r = spawnSync(launch.execPath, launch.execArgv, { encoding: "utf8" });
  expect(r.signal).toBe("SIGKILL");
  expect(cgroup.oomKilled()).toBe(true);
  cgroup.remove();
});
