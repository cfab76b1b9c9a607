import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import fs from "node:fs";
import { BIN, ROOT, type RunResult } from "./harness";

/*
 * Tests may send traffic only to loopback and to test hosts they make themselves. A TestHost is such
 * a host: a Linux network namespace joined to this machine by a veth pair, in a small subnet of
 * 10.231.0.0/16 that lives only on that veth. Anything that is not loopback in a test is a TestHost.
 */

const NAME_PREFIX = "stubrun-";
/** A locally administered MAC that no interface has. */
const SILENT_MAC = "02:00:5e:00:23:01";
let created = 0;
let unavailable: string | undefined | null = null;

/** Runs `ip ARGS`; throws with its stderr when it fails. */
function ip(args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.error) throw new Error(`ip ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} exited with ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Removes a namespace left by a test process that died before its destroy() ran. */
function removeStale(): void {
  for (const line of ip(["netns", "list"]).split("\n")) {
    const m = /^(stubrun-(\d+)-(?:\d+|probe))\b/.exec(line);
    if (!m || Number(m[2]) === process.pid || pidAlive(Number(m[2]))) continue;
    spawnSync("ip", ["netns", "del", m[1]]);
    fs.rmSync(`/etc/netns/${m[1]}`, { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Why test hosts cannot be made here (not root, no iproute2, no namespaces), or undefined when they can.
 * Checked once, by making and removing a namespace.
 */
export function testHostUnavailable(): string | undefined {
  if (unavailable !== null) return unavailable;
  unavailable = undefined;
  if (process.platform !== "linux") unavailable = "test hosts are Linux network namespaces";
  else if (process.getuid?.() !== 0) unavailable = "making network namespaces needs root";
  else {
    const probe = `${NAME_PREFIX}${process.pid}-probe`;
    try {
      ip(["netns", "add", probe]);
      ip(["netns", "del", probe]);
    } catch (error) {
      unavailable = `\`ip netns\` does not work here (install iproute2): ${(error as Error).message}`;
    }
  }
  return unavailable;
}

/** `test`, or `test.skip` with a note saying why when test hosts cannot be made here. */
export function testWithTestHost(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  const why = testHostUnavailable();
  if (why) console.warn(`Skipping "${name}": it needs a test host (network namespace), and ${why}.`);
  (why ? test.skip : test)(name, fn, timeoutMs);
}

/** A subnet 10.231.X.Y/29 that no address or route of this machine uses yet. */
function freeSubnet(): { base: string; last: number } {
  const taken = ip(["-4", "addr", "show"]) + ip(["-4", "route", "show", "table", "all"]);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = `10.231.${Math.floor(Math.random() * 256)}`;
    const last = Math.floor(Math.random() * 32) * 8;
    if (!taken.includes(`${base}.`)) return { base, last };
  }
  throw new Error("found no free 10.231.X.0/24 for a test host");
}

/** A network namespace reachable from this machine over its own veth pair. */
export class TestHost {
  private readonly children = new Set<ChildProcess>();

  private constructor(
    /** The namespace's name (`ip netns exec NAME ...`). */
    readonly name: string,
    private readonly hostLink: string,
    /** This machine's end of the veth: servers that clients in the namespace reach listen here. */
    readonly hostAddress: string,
    /** The namespace's end of the veth. */
    readonly nsAddress: string,
    /** An address on the veth's subnet whose packets nobody receives: connections to it hear nothing back. */
    readonly silentAddress: string,
  ) {}

  /** Makes a namespace `stubrun-<pid>-<n>` with its veth up, `lo` up, and DNS pointed at its own loopback. */
  static async create(): Promise<TestHost> {
    const why = testHostUnavailable();
    if (why) throw new Error(`cannot make a test host: ${why}`);
    removeStale();
    const n = ++created;
    const name = `${NAME_PREFIX}${process.pid}-${n}`;
    const hostLink = `srh${process.pid}-${n}`.slice(0, 15);
    const nsLink = `srn${process.pid}-${n}`.slice(0, 15);
    const { base, last } = freeSubnet();
    const host = new TestHost(name, hostLink, `${base}.${last + 1}`, `${base}.${last + 2}`, `${base}.${last + 5}`);
    try {
      // Any name looked up inside resolves against the namespace's own loopback (nothing answers), never this machine's resolver.
      fs.mkdirSync(`/etc/netns/${name}`, { recursive: true });
      fs.writeFileSync(`/etc/netns/${name}/resolv.conf`, "nameserver 127.0.0.1\n");
      ip(["netns", "add", name]);
      ip(["link", "add", hostLink, "type", "veth", "peer", "name", nsLink]);
      ip(["link", "set", nsLink, "netns", name]);
      ip(["addr", "add", `${host.hostAddress}/29`, "dev", hostLink]);
      ip(["link", "set", hostLink, "up"]);
      ip(["-n", name, "addr", "add", `${host.nsAddress}/29`, "dev", nsLink]);
      ip(["-n", name, "link", "set", nsLink, "up"]);
      ip(["-n", name, "link", "set", "lo", "up"]);
      // The silent address "is" at a MAC nobody has, seen from either end: frames to it go onto the veth and the
      // other end drops them (not its MAC), so nothing ever comes back, not even "host unreachable".
      ip(["neigh", "replace", host.silentAddress, "lladdr", SILENT_MAC, "dev", hostLink, "nud", "permanent"]);
      ip(["-n", name, "neigh", "replace", host.silentAddress, "lladdr", SILENT_MAC, "dev", nsLink, "nud", "permanent"]);
    } catch (error) {
      host.destroy();
      throw error;
    }
    return host;
  }

  /** Spawns `cmd ARGS` inside the namespace (`ip netns exec NAME cmd ARGS`); destroy() kills it if it still runs. */
  run(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn("ip", ["netns", "exec", this.name, cmd, ...args], { cwd: ROOT, ...options });
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    return child;
  }

  /** Runs the real `stubrun` bin inside the namespace, like `runBin` does on this machine. */
  runBin(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = this.run(process.execPath, [BIN, ...args], { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`stubrun ${args.join(" ")} (in ${this.name}) did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, options.timeoutMs ?? 45_000);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  /** Kills what runs in the namespace and removes it (its veth goes with it). Safe to call twice. */
  destroy(): void {
    for (const child of this.children) child.kill("SIGKILL");
    this.children.clear();
    const pids = spawnSync("ip", ["netns", "pids", this.name], { encoding: "utf8" }).stdout ?? "";
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
    spawnSync("ip", ["netns", "del", this.name]);
    spawnSync("ip", ["link", "del", this.hostLink]); // normally gone with the namespace already
    fs.rmSync(`/etc/netns/${this.name}`, { recursive: true, force: true });
    try {
      fs.rmdirSync("/etc/netns"); // only when empty: leave it as it was before the tests
    } catch {
      // others' files are there, or it is gone already
    }
  }
}
