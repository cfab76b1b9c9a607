import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { waitUntil } from "./harness";
import { RedisServer } from "./redis-server";

/**
 * `STUBRUN_TEST_QUEUE=1 npx jest test/e2e/...`: every TestServer runs with `--queue` on a Redis
 * of its own, with two `stubrun worker` nodes (own homes, 4 slots each) on this machine, so the
 * end-to-end suites run against queue mode unchanged.
 */
export const QUEUE_MODE = process.env.STUBRUN_TEST_QUEUE === "1";

/** A TestServer's Redis and worker nodes in queue mode. */
export class QueueBackend {
  private readonly nodes: ChildProcess[] = [];
  private readonly homes: string[] = [];

  private constructor(readonly redis: RedisServer) {}

  static async start(): Promise<QueueBackend> {
    return new QueueBackend(await RedisServer.start());
  }

  /** The flags `stubrun server` gets. */
  get serverArgs(): string[] {
    return ["--queue", this.redis.url];
  }

  /** Starts the nodes, once the server listens, and waits until the server lists them all. */
  /** `extraEnv`: what the test gave its server (STUBRUN_SANDBOX…), which the nodes' workers follow too. */
  async startNodes(bin: string, serverUrl: string, serverHome: string, extraEnv: NodeJS.ProcessEnv = {}, count = 2): Promise<void> {
    const token = fs.readFileSync(path.join(serverHome, "token"), "utf8").trim();
    for (let i = 0; i < count; i++) {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-test-node-"));
      this.homes.push(home);
      const env = { ...process.env, ...extraEnv, STUBRUN_HOME: home, STUBRUN_TOKEN: token };
      this.nodes.push(spawn(process.execPath, [bin, "worker", "--server", serverUrl, "--queue", this.redis.url, "--concurrency", "4"], { env, stdio: "ignore" }));
    }
    await waitUntil(
      async () => {
        // Not fetch(): its kept-alive connection would take one of the server's limits.maxConnections from the test.
        const body = await new Promise<string>((resolve, reject) => {
          const req = http.get(`${serverUrl}/api/nodes`, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
            let text = "";
            res.setEncoding("utf8").on("data", (d: string) => (text += d));
            res.on("end", () => resolve(text));
          });
          req.on("error", reject);
        });
        return (JSON.parse(body) as { nodes: unknown[] }).nodes.length >= count;
      },
      { timeoutMs: 20_000, what: `${count} worker nodes to connect to ${serverUrl}` },
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map((node) => {
        if (node.exitCode !== null || node.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => node.once("exit", resolve));
        node.kill("SIGTERM");
        return exited;
      }),
    );
    await this.redis.stop();
    for (const home of this.homes) fs.rmSync(home, { recursive: true, force: true });
  }
}

/**
 * `test`, or `test.skip` in queue mode: for a test of a property only the embedded pool has,
 * with the reason given where it is used.
 */
export function embeddedOnly(name: string, fn: jest.ProvidesCallback, timeoutMs?: number): void {
  (QUEUE_MODE ? test.skip : test)(name, fn, timeoutMs);
}
