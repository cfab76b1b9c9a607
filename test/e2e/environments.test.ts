import { appList, TestServer, writeFixture } from "./harness";

/**
 * Issue 14 item 6: `--env NAME` / `STUBRUN_ENV` namespaces apps, secrets, Dicts, Queues and web
 * endpoint URLs on one server. The same file deployed to dev and prod with different secret
 * values answers differently; stopping dev leaves prod serving; `app list --env prod` shows
 * that environment only.
 */

const FILE = writeFixture(
  "environments.ts",
  `import { Dict, Secret, Stub } from "stubrun";

const stub = new Stub("env-app", { secrets: [Secret.fromName("greet")] });

class Env {
  @stub.webEndpoint()
  hello(): string {
    return process.env.WORD ?? "no word";
  }

  @stub.function()
  async count(): Promise<string> {
    const hits = Dict.fromName<string, number>("hits", { createIfMissing: true });
    const n = await hits.update("n", (n = 0) => n + 1);
    return \`\${process.env.STUBRUN_ENV}:\${n}\`;
  }
}
`,
);

describe("environments", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(() => server?.stop());

  test("the same file in dev and prod: its own secrets, URLs, Dicts and lifecycle in each", async () => {
    for (const env of ["dev", "prod"]) {
      const secret = await server.run(["secret", "create", "greet", `WORD=${env}-hi`, "--env", env]);
      expect(secret.code).toBe(0);
    }
    // --env on the command line, or STUBRUN_ENV.
    const dev = await server.run(["deploy", FILE, "--env", "dev"]);
    expect(dev.stdout).toMatch(/^Created app env-app \(ap-\w+\) in environment dev, version 1\n/);
    expect(dev.stdout).toContain(`GET ${server.url}/web/dev/env-app/Env.hello`);
    const prod = await server.run(["deploy", FILE], { env: { STUBRUN_ENV: "prod" } });
    expect(prod.stdout).toMatch(/^Created app env-app \(ap-\w+\) in environment prod, version 1\n/);

    expect(await (await fetch(`${server.url}/web/dev/env-app/Env.hello`)).json()).toBe("dev-hi");
    expect(await (await fetch(`${server.url}/web/prod/env-app/Env.hello`)).json()).toBe("prod-hi");
    // "main" has no env-app.
    expect((await fetch(`${server.url}/web/env-app/Env.hello`)).status).toBe(404);
    expect((await server.run(["call", "env-app", "Env.count"])).stderr).toContain("no deployed app named env-app");

    // Each environment has its own Dict "hits"; a function works in its app's environment.
    expect((await server.run(["call", "--env", "prod", "env-app", "Env.count"])).stdout).toBe("prod:1\n");
    expect((await server.run(["call", "--env", "prod", "env-app", "Env.count"])).stdout).toBe("prod:2\n");
    expect((await server.run(["call", "--env", "dev", "env-app", "Env.count"])).stdout).toBe("dev:1\n");
    expect((await server.run(["dict", "get", "hits", "n", "--env", "prod"])).stdout).toBe("2\n");
    expect((await server.run(["dict", "list"])).stderr).toContain("No Dicts yet");

    // Listing is per environment.
    const prodApps = JSON.parse((await server.run(["app", "list", "--json", "--env", "prod"])).stdout) as { name: string; env: string }[];
    expect(prodApps.map((a) => [a.name, a.env])).toEqual([["env-app", "prod"]]);
    expect(await appList(server)).toEqual([]);
    const secrets = JSON.parse((await server.run(["secret", "list", "--json"], { env: { STUBRUN_ENV: "dev" } })).stdout) as { name: string }[];
    expect(secrets.map((s) => s.name)).toEqual(["greet"]);
    expect((await server.run(["secret", "list", "--json"])).stdout.trim()).toBe("[]");

    // Stopping dev leaves prod serving.
    const stop = await server.run(["app", "stop", "env-app", "--env", "dev", "--yes"]);
    expect(stop.code).toBe(0);
    expect((await fetch(`${server.url}/web/dev/env-app/Env.hello`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/web/prod/env-app/Env.hello`)).json()).toBe("prod-hi");
  });

  test("a bad environment name is a usage error that says what a name may hold", async () => {
    const r = await server.run(["app", "list", "--env", "no spaces"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--env: environment name "no spaces" may only hold letters, digits');
    const fromEnv = await server.run(["app", "list"], { env: { STUBRUN_ENV: "a/b" } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain("STUBRUN_ENV: environment name");
  });
});
