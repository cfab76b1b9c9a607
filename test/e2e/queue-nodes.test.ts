import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BIN, removeTempDirs, runBin, tempDir, waitUntil, writeFixture } from "./harness";
import { RedisServer } from "./redis-server";
import { TestHost, testWithTestHost } from "./test-host";

/**
 * Worker nodes on another host: two `stubrun worker` processes in a network namespace reach the
 * server and Redis over the veth's addresses (not loopback), with the server's STUBRUN_TOKEN.
 */

const TOKEN = "queue-nodes-token";

const APP = writeFixture(
  "queue-nodes.ts",
  `import fs from "node:fs";
import path from "node:path";
import { Stub, fn } from "stubrun";

const stub = new Stub("queue-nodes");

class Spread {
  /** Sleeps a little, then returns its input; each run appends it to dir/runs. */
  @stub.function({ concurrencyLimit: 8 })
  async work(x: number, dir: string): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.appendFileSync(path.join(dir, "runs"), \`\${x}\\n\`);
    return x;
  }

  @stub.localEntrypoint()
  async main(dir: string, count = 200) {
    const results: number[] = [];
    for await (const y of fn(this.work).starmap(Array.from({ length: count }, (_, i) => [i, dir] as [number, string]))) results.push(y);
    console.log(\`results \${results.join(",")}\`);
  }
}
`,
);

let host: TestHost | undefined;
let redis: RedisServer | undefined;
let server: ChildProcess | undefined;

afterAll(async () => {
  server?.kill("SIGKILL");
  host?.destroy(); // kills the nodes in it
  await redis?.stop();
  removeTempDirs();
});

testWithTestHost(
  "two nodes on a test host: a .map of 200 calls over both, kill -9 of one in the middle, every result arrives once, in order",
  async () => {
    host = await TestHost.create();
    redis = await RedisServer.start({ alsoBind: [host.hostAddress] });
    const home = tempDir("queue-nodes-server");
    const env = { ...process.env, STUBRUN_HOME: home, STUBRUN_TOKEN: TOKEN };
    server = spawn(process.execPath, [BIN, "server", "--host", host.hostAddress, "--port", "0", "--queue", redis.url], { env, stdio: ["ignore", "ignore", "pipe"] });
    let serverLog = "";
    server.stderr!.setEncoding("utf8").on("data", (d: string) => (serverLog += d));
    const url = (await waitUntil(() => /listening on (http:\/\/\S+)/.exec(serverLog)?.[1], { what: () => `the server to listen:\n${serverLog}` })) as string;

    // The nodes reach Redis and the server at this machine's end of the veth.
    const redisUrl = `redis://${host.hostAddress}:${redis.port}`;
    const nodes = [0, 1].map(() => {
      const nodeEnv = { ...process.env, STUBRUN_HOME: tempDir("queue-nodes-node"), STUBRUN_TOKEN: TOKEN, STUBRUN_SERVER_URL: "" };
      const node = host!.run(process.execPath, [BIN, "worker", "--server", url, "--queue", redisUrl, "--concurrency", "4"], { env: nodeEnv, stdio: ["ignore", "ignore", "pipe"] });
      const out = { node, log: "" };
      node.stderr!.setEncoding("utf8").on("data", (d: string) => (out.log += d));
      return out;
    });
    await waitUntil(() => (serverLog.match(/worker node \S+ connected/g)?.length ?? 0) >= 2, { what: () => `two nodes to connect:\n${serverLog}\n${nodes.map((n) => n.log).join("\n")}` });

    const dir = tempDir("queue-nodes-runs");
    const client = runBin([APP, "--dir", dir], { env: { ...env, STUBRUN_SERVER_URL: url }, timeoutMs: 120_000 });
    // Once both nodes ran calls of it, one dies.
    const nodeIds = nodes.map((n) => /stubrun worker (\S+):/.exec(n.log)?.[1]);
    const lost = await waitUntil(
      async () => {
        const res = await fetch(`${url}/api/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const { nodes: seen } = (await res.json()) as { nodes: { nodeId: string; running: string[] }[] };
        const running = seen.find((n) => n.nodeId === nodeIds[1])?.running ?? [];
        return running.length >= 4 && running; // in the middle of the run: all its slots busy
      },
      { intervalMs: 20, what: "the second node to run calls" },
    );
    nodes[1].node.kill("SIGKILL");
    await waitUntil(() => serverLog.includes(`worker node ${nodeIds[1]} disconnected`), { what: () => `the server to see node ${nodeIds[1]} go:\n${serverLog}` });

    const r = await client;
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`results ${Array.from({ length: 200 }, (_, i) => i).join(",")}\n`);
    const runs = fs.readFileSync(path.join(dir, "runs"), "utf8").trim().split("\n").map(Number);
    expect(new Set(runs).size).toBe(200); // every input ran; those the dead node was running, twice
    console.log(`200 calls over two nodes on a test host, one killed while running ${lost.length} calls: ${runs.length - 200} ran to the end twice`);
  },
  120_000,
);
