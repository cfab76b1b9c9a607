import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CodeCache } from "../../packages/server/src/node/code-cache";
import { snapshot } from "../../packages/server/test/folder-snapshot";
import { BIN, removeTempDirs, ROOT, runBin, tempDir, withTestServer, type TestServer, BEYOND_LOOPBACK } from "./harness";
import { npmProject } from "./npm-project";
import { TestHost, testWithTestHost } from "./test-host";

/**
 * Issue 10: a worker node has nothing of the client's machine and must not read the server's
 * disk. It gets a deployed app's code folder by content hash over HTTP (`GET /api/code/HASH`,
 * `GET /api/blobs/HASH`, with the server's token) and rebuilds it, packages included, in its own home.
 */
const APP = `import { Stub, Image } from "stubrun";
import leftPad from "left-pad";
import Database from "better-sqlite3";

const stub = new Stub("fetched", { image: Image.node().addLocalFile("rates.json") });

export class Shop {
  @stub.function()
  quote(amount: number): string {
    const db = new Database(":memory:");
    const { total } = db.prepare("select ? * 2 as total").get(amount) as { total: number };
    return leftPad(String(total), 8, "0");
  }
}
`;

/** The code folders of a server's home (its code/ holds each folder and its recipe). */
function codeFolders(home: string): string[] {
  const root = path.join(home, "code");
  return fs.existsSync(root) ? fs.readdirSync(root).filter((name) => /^[0-9a-f]{32}$/.test(name)) : [];
}

/** Deploys the app from a fresh npm project (left-pad from the registry, a native addon) with `env`; returns its code hash. */
async function deployApp(env: NodeJS.ProcessEnv, home: string): Promise<string> {
  const before = new Set(codeFolders(home));
  const project = npmProject("code-fetch", { "src/app.ts": APP, "src/rates.json": JSON.stringify({ eur: 1.5 }) });
  try {
    const deployed = await runBin(["deploy", "src/app.ts"], { cwd: project, env });
    expect(deployed.stderr).toMatch(/Uploading \d+ package folder/);
    expect(deployed.code).toBe(0);
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
  }
  const added = codeFolders(home).filter((name) => !before.has(name));
  expect(added).toHaveLength(1);
  return added[0];
}

describe("a worker node's code cache", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("rebuilds a deployed app's code folder from the server over HTTP: same files, node_modules (a native addon too) and added files", async () => {
    const hash = await deployApp(server.env, server.home);
    const nodeHome = tempDir("node-home");
    const dir = await new CodeCache(nodeHome, server.url, server.token).ensure(hash);
    expect(dir).toBe(path.join(nodeHome, "code", hash));
    const fetched = snapshot(dir);
    expect(fetched).toEqual(snapshot(path.join(server.home, "code", hash)));
    expect(fetched).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^node_modules\/left-pad\/index\.js: /),
        expect.stringMatching(/^node_modules\/better-sqlite3\/build\/Release\/better_sqlite3\.node(?: \(x\))?: /),
        expect.stringMatching(/^src\/rates\.json: /),
      ]),
    );
  });
});

/** `stubrun server --host 0.0.0.0` with STUBRUN_TOKEN, on a fresh home, once it listens. */
async function startServerBeyondLoopback(token: string): Promise<{ home: string; server: ChildProcess; port: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-code-fetch-"));
  const server = spawn(process.execPath, [BIN, "server", "--host", "0.0.0.0", "--port", "0"], {
    env: { ...process.env, STUBRUN_HOME: home, ...BEYOND_LOOPBACK, STUBRUN_TOKEN: token },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    let log = "";
    server.stderr!.setEncoding("utf8").on("data", (d: string) => {
      log += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(log);
      if (m) resolve(m[1]);
    });
    server.once("exit", () => reject(new Error(log)));
  });
  return { home, server, port };
}

/** A program a node would run: CodeCache.ensure(HASH) against URL with STUBRUN_TOKEN; prints the folder, or the error's message. */
const ENSURE = `
const { CodeCache } = require(${JSON.stringify(path.join(ROOT, "packages/server/dist/node/code-cache.js"))});
const [home, url, hash] = process.argv.slice(1);
new CodeCache(home, url, process.env.STUBRUN_TOKEN || undefined).ensure(hash).then(
  (dir) => console.log(dir),
  (error) => { console.error(error.message); process.exitCode = 1; },
);
`;

describe("a worker node on another host", () => {
  let lan: TestHost | undefined;
  let started: { home: string; server: ChildProcess } | undefined;
  afterAll(async () => {
    lan?.destroy();
    if (started) {
      started.server.kill("SIGTERM");
      if (started.server.exitCode === null) await new Promise((resolve) => started!.server.once("exit", resolve));
      fs.rmSync(started.home, { recursive: true, force: true });
    }
    removeTempDirs();
  });

  /** Runs ENSURE inside the test host. */
  function ensureInHost(host: TestHost, args: string[], token: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = host.run(process.execPath, ["-e", ENSURE, ...args], { env: { ...process.env, STUBRUN_TOKEN: token }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  testWithTestHost("fetches the code over a non-loopback address with STUBRUN_TOKEN, and says so when the token is wrong", async () => {
    lan = await TestHost.create();
    const token = "n0de-s3cret";
    const { home, server, port } = await startServerBeyondLoopback(token);
    started = { home, server };
    // The client deploys from this machine (it reads the server's token file); the node is elsewhere.
    const hash = await deployApp({ ...process.env, STUBRUN_HOME: home, STUBRUN_SERVER_URL: `http://127.0.0.1:${port}`, STUBRUN_TOKEN: "" }, home);
    const remote = `http://${lan.hostAddress}:${port}`;
    const nodeHome = tempDir("remote-node-home");

    const refused = await ensureInHost(lan, [nodeHome, remote, hash], "not-it");
    expect(refused.stderr).toContain(`the server at ${remote} refused the token (STUBRUN_TOKEN) when asked for code ${hash}: set STUBRUN_TOKEN to the server's token`);
    expect(refused.code).toBe(1);

    const ok = await ensureInHost(lan, [nodeHome, remote, hash], token);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe(`${path.join(nodeHome, "code", hash)}\n`);
    expect(snapshot(path.join(nodeHome, "code", hash))).toEqual(snapshot(path.join(home, "code", hash)));
  });
});
