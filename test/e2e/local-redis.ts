import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { freePort, waitUntil } from "./harness";

/**
 * A throwaway redis-server on a free loopback port, nothing saved (the queue tests' own; the
 * shared test/e2e/redis-server.ts replaces it once both land).
 */
export class LocalRedis {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  /**
   * @param port a port of the test's choosing; a free one by default
   * @param bind addresses to listen on besides loopback (a test host's `hostAddress`)
   */
  static async start(port?: number, bind: string[] = []): Promise<LocalRedis> {
    port ??= await freePort();
    const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", ...bind, "--save", "", "--appendonly", "no", "--protected-mode", "no"], { stdio: "ignore" });
    await waitUntil(() => canConnect(port), { timeoutMs: 10_000, what: `redis-server on port ${String(port)}` });
    return new LocalRedis(port as number, child);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGKILL");
    await exited;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
