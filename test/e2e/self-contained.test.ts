import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { BIN, runBin, withTestServer, type TestServer } from "./harness";
import { lookupProgram, npmProject } from "./npm-project";
import { TestHost, testWithTestHost } from "./test-host";

/**
 * Issue 9, "an app is self-contained" (SPEC §2): a deployed app keeps working when the folder it
 * was deployed from is gone. Its npm packages (one from the registry, one native addon) travel
 * with it, and so do the files its image adds; the function runs at the root of its upload.
 */
const APP = `import { Stub, Image } from "stubrun";
import leftPad from "left-pad";
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const stub = new Stub("self-contained", { image: Image.node().addLocalFile("rates.json").addLocalDir("data") });

export class Shop {
  @stub.function()
  quote(amount: number): string {
    const rates = JSON.parse(fs.readFileSync(path.join(__dirname, "rates.json"), "utf8"));
    const again = JSON.parse(fs.readFileSync(fileURLToPath(new URL("./rates.json", import.meta.url)), "utf8"));
    const db = new Database(":memory:");
    const { total } = db.prepare("select ? * ? as total").get(amount, rates.eur) as { total: number };
    // The working directory is the root of the upload: the project's folder, where node_modules is.
    const note = fs.readFileSync("src/data/note.txt", "utf8").trim();
    return JSON.stringify({ padded: leftPad(String(total), 8, "0"), same: again.eur === rates.eur, note });
  }
}
`;

function run(file: string, env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("a self-contained app", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test("deployed, its folder deleted, then called from another folder: its packages (a native addon too) and added files are there", async () => {
    const project = npmProject("self-contained", {
      "src/app.ts": APP,
      "src/rates.json": JSON.stringify({ eur: 1.5 }),
      "src/data/note.txt": "from the data folder\n",
    });
    const deployed = await server.run(["deploy", "src/app.ts"], { cwd: project });
    expect(deployed.stderr).toMatch(/Uploading \d+ package folder/);
    expect(deployed.code).toBe(0);
    fs.rmSync(project, { recursive: true, force: true });

    const program = lookupProgram("self-contained", "Shop.quote", [3]);
    const called = await run(program, server.env, path.dirname(program));
    expect(called.stderr).toBe("");
    expect(JSON.parse(JSON.parse(called.stdout))).toEqual({ padded: "000004.5", same: true, note: "from the data folder" });
    fs.rmSync(path.dirname(program), { recursive: true, force: true });
  });

  test("a second app with the same packages uploads nothing again, and a package the code imports but nobody installed says so", async () => {
    const project = npmProject("self-contained-again", {
      "src/app.ts": APP.replace('"self-contained"', '"self-contained-2"'),
      "src/rates.json": JSON.stringify({ eur: 1.5 }),
      "src/data/note.txt": "from the data folder\n",
    });
    const again = await server.run(["deploy", "src/app.ts"], { cwd: project });
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain("Uploading");
    fs.writeFileSync(path.join(project, "src/missing.ts"), 'import { Stub } from "stubrun";\nimport nope from "no-such-package-here";\nconst stub = new Stub("nope");\nexport class X { @stub.function() f() { return nope; } }\n');
    const missing = await server.run(["deploy", "src/missing.ts"], { cwd: project });
    expect(missing.stderr).toContain('imports "no-such-package-here", which is not installed where the file is: npm install no-such-package-here');
    expect(missing.code).toBe(2);
    fs.rmSync(project, { recursive: true, force: true });
  });

  test("an upload that is not what its hash names is refused, and nothing of it is kept", async () => {
    const tree = Buffer.from("stubrun-tree 1\nf 2 5\nhellohiend\n");
    const wrongHash = "0".repeat(64);
    const refused = await server.api(`/api/blobs/${wrongHash}`, { method: "PUT", body: tree });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toMatch(/hashes to [0-9a-f]{64}, not 0{64}/);
    const escaping = Buffer.from("stubrun-tree 1\nf 2 11\n../../evilhiend\n");
    const bad = await server.api(`/api/blobs/${"1".repeat(64)}`, { method: "PUT", body: escaping });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("must be relative and stay inside the tree");
    expect(fs.readdirSync(path.join(server.home, "blobs")).filter((name) => name.startsWith("0000") || name.startsWith("1111") || name.includes(".tmp-"))).toEqual([]);
    expect((await server.api("/api/apps")).status).toBe(200);
  });

  testWithTestHost("on a server on another host: deployed with STUBRUN_TOKEN, the folder deleted, called from this machine", async () => {
    const host = await TestHost.create();
    const serverHome = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-remote-server-"));
    const clientHome = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-remote-client-"));
    try {
      const remote = host.run(process.execPath, [BIN, "server", "--host", host.nsAddress, "--port", "0"], {
        env: { PATH: process.env.PATH, HOME: serverHome, STUBRUN_HOME: serverHome, STUBRUN_TOKEN: "remote-s3cret" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      const port = await new Promise<string>((resolve, reject) => {
        let log = "";
        remote.stderr!.setEncoding("utf8").on("data", (d: string) => {
          log += d;
          const m = /listening on http:\/\/[^:]+:(\d+)/.exec(log);
          if (m) resolve(m[1]);
        });
        remote.once("exit", () => reject(new Error(log)));
      });
      const env = { ...process.env, STUBRUN_HOME: clientHome, STUBRUN_SERVER_URL: `http://${host.nsAddress}:${port}`, STUBRUN_TOKEN: "remote-s3cret" };
      const project = npmProject("self-contained-remote", {
        "src/app.ts": APP.replace('"self-contained"', '"self-contained-remote"'),
        "src/rates.json": JSON.stringify({ eur: 2 }),
        "src/data/note.txt": "remote note\n",
      });
      const deployed = await runBin(["deploy", "src/app.ts"], { cwd: project, env });
      expect(deployed.stderr).toMatch(/Uploading \d+ package folder/);
      expect(deployed.code).toBe(0);
      fs.rmSync(project, { recursive: true, force: true });

      const program = lookupProgram("self-contained-remote", "Shop.quote", [5]);
      const called = await run(program, env, path.dirname(program));
      expect(called.stderr).toBe("");
      expect(JSON.parse(JSON.parse(called.stdout))).toEqual({ padded: "00000010", same: true, note: "remote note" });
      fs.rmSync(path.dirname(program), { recursive: true, force: true });
    } finally {
      host.destroy();
      fs.rmSync(serverHome, { recursive: true, force: true });
      fs.rmSync(clientHome, { recursive: true, force: true });
    }
  }, 90_000);
});
