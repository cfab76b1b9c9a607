import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./harness";

/** Where `.ci/run` (or the machine) installed it; `REDIS_SERVER` names another. */
const REDIS_SERVER = process.env.REDIS_SERVER ?? "redis-server";

/**
 * A Redis of the test's own: a `redis-server` child on a free port, in its own temporary folder,
 * that never writes to disk (no RDB snapshots, no append-only file). Tests start one, use `url`,
 * and stop it.
 */
export class RedisServer {
  private constructor(
    /** `redis://HOST:PORT`. */
    readonly url: string,
    readonly host: string,
    readonly port: number,
    private readonly child: ChildProcess,
    /** Its working folder (its own, empty: it writes nothing there), removed by stop(). */
    readonly dir: string,
    private readonly output: () => string,
  ) {}

  /**
   * Starts one once it accepts connections.
   * @param options.host the address it listens on (a TestHost's hostAddress, for nodes in a namespace to reach it) @default "127.0.0.1"
   * @param options.alsoBind more addresses to listen on (`url` keeps `host`)
   * @param options.port a port of the test's choosing (one a client already tries); a free one by default
   */
  static async start(options: { host?: string; alsoBind?: string[]; port?: number } = {}): Promise<RedisServer> {
    const host = options.host ?? "127.0.0.1";
    if (options.port !== undefined) return RedisServer.startOn(host, options.port, options.alsoBind);
    let lastError: Error | undefined;
    // The port was free a moment ago; another process may take it before Redis binds it: try another.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await RedisServer.startOn(host, await freePort(), options.alsoBind);
      } catch (error) {
        lastError = error as Error;
        if (!/Address already in use/i.test(lastError.message)) throw lastError;
      }
    }
    throw lastError!;
  }

  private static startOn(host: string, port: number, alsoBind: string[] = []): Promise<RedisServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-redis-"));
    const args = ["--port", String(port), "--bind", host, ...alsoBind, "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--protected-mode", "no"];
    const child = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    return new Promise<RedisServer>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
        reject(new Error(`redis-server on ${host}:${port} did not start (${why}):\n${output}`));
      };
      const timer = setTimeout(() => fail("not ready in 20 s"), 20_000);
      const onData = (chunk: string) => {
        output += chunk;
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          child.removeAllListeners("error");
          resolve(new RedisServer(`redis://${host.includes(":") ? `[${host}]` : host}:${port}`, host, port, child, dir, () => output));
        }
      };
      child.stdout!.setEncoding("utf8").on("data", onData);
      child.stderr!.setEncoding("utf8").on("data", onData);
      child.once("error", (error) => fail(`${error.message}; install it with apt-get install redis-server, as .ci/run does`));
      child.once("exit", (code, signal) => fail(`it exited with ${code ?? signal}`));
    });
  }

  /** What redis-server printed so far. */
  get log(): string {
    return this.output();
  }

  /** Stops it (SIGKILL: nothing to save) and removes its folder; resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGKILL");
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
