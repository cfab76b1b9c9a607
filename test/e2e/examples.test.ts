import { spawnSync } from "node:child_process";
import { TestServer } from "./harness";

/** Every example in examples/ runs through the real bin against a real server. */
describe("examples", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start()));
  afterAll(() => server.stop());

  test("hello.ts runs main locally, which calls f remotely", async () => {
    const r = await server.run(["examples/hello.ts"]);
    expect(r.stdout).toBe("Hello world!\n");
    expect(r.code).toBe(0);
  });

  test("hello.ts::Example.f and ::Example.g run one function remotely", async () => {
    expect((await server.run(["examples/hello.ts::Example.f"])).stdout).toBe("Hello world!\n");
    expect((await server.run(["examples/hello.ts::Example.g"])).stdout).toBe("Goodbye world!\n");
  });

  test("options.ts takes typed options and prints the return value", async () => {
    const r = await server.run(["examples/options.ts", "--n", "3", "--loud", "--mode", "slow", "--since", "2024-01-31"]);
    expect(r.stdout).toBe('HELLO WORLD\n3 squared is 9 (mode slow, since 2024-01-31T00:00:00.000Z)\n{"n":3,"squared":9}\n');
    expect(r.code).toBe(0);
  });

  test("deploy.ts deploys with its web endpoints and schedules listed, and its endpoints answer", async () => {
    const r = await server.run(["deploy", "examples/deploy.ts"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Created app deploy-example \(ap-\w+\), version 1\n/);
    expect(r.stdout).toContain(`Greeter.greet  GET ${server.url}/web/deploy-example/Greeter.greet`);
    expect(r.stdout).toContain("Greeter.heartbeat  (every 300 s)");
    expect(r.stdout).toContain('Greeter.morningReport  (cron "0 9 * * MON-FRI" Europe/Paris)');
    const greet = await fetch(`${server.url}/web/deploy-example/Greeter.greet?name=ann&excited`);
    expect(await greet.json()).toEqual({ greeting: "hello ann!" });
    const add = await fetch(`${server.url}/web/deploy-example/Greeter.add`, { method: "POST", body: JSON.stringify({ a: 1, b: "2" }) });
    expect(await add.json()).toBe(3);
    const again = await server.run(["deploy", "examples/deploy.ts"]);
    expect(again.stdout).toMatch(/is unchanged: still version 1/);
    // The README's shell call of a deployed function.
    const call = await server.run(["call", "deploy-example", "Greeter.square", "--x", "7"]);
    expect(call.stdout).toBe("49\n");
    expect(call.code).toBe(0);
  });

  test("dict-queue.ts counts in a Dict and passes words through a Queue", async () => {
    const first = await server.run(["examples/dict-queue.ts"]);
    expect(first.stdout).toBe("MILK TEA TEA; tea seen 2 times in all\n");
    expect(first.code).toBe(0);
    // The Dict is named: it keeps counting across runs.
    expect((await server.run(["examples/dict-queue.ts"])).stdout).toBe("MILK TEA TEA; tea seen 4 times in all\n");
  });

  test("environments.ts deployed to dev and prod: each answers as its own, with its own Dict", async () => {
    for (const env of ["dev", "prod"]) expect((await server.run(["deploy", "examples/environments.ts", "--env", env])).code).toBe(0);
    expect(await (await fetch(`${server.url}/web/prod/env-example/Greeter.where`)).json()).toBe("hello from prod");
    expect(await (await fetch(`${server.url}/web/dev/env-example/Greeter.where`)).json()).toBe("hello from dev");
    expect((await server.run(["call", "--env", "dev", "env-example", "Greeter.visit"])).stdout).toBe("1\n");
    expect((await server.run(["call", "--env", "dev", "env-example", "Greeter.visit"])).stdout).toBe("2\n");
    expect((await server.run(["call", "--env", "prod", "env-example", "Greeter.visit"])).stdout).toBe("1\n");
  });

  test("map.ts maps and starmaps in input order", async () => {
    const r = await server.run(["examples/map.ts", "--count", "12"]);
    expect(r.stdout).toBe(
      "squares: 1 4 9 16 25 36 49 64 81 100 121 144\nsums: 101 102 103 104 105 106 107 108 109 110 111 112\n650\n",
    );
    expect(r.code).toBe(0);
  });

  test("resources.ts counts primes on workers of cpu 1, and its hog fails naming its memory", async () => {
    const r = await server.run(["examples/resources.ts", "--limit", "20000"]);
    expect(r.stdout).toContain("primes below 5000: 669\nprimes below 10000: 1229\nprimes below 20000: 2262\n");
    expect(r.stdout).toContain("hog failed: Primes.hog: the worker used more than its memory of 128 MiB (memory option) while running the call, and was killed");
    expect(r.code).toBe(0);
  });

  test("jobs.ts spawns a job, then gets it by id: still running, its log lines, its value", async () => {
    const r = await server.run(["examples/jobs.ts", "--name", "intro"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("rendering intro\nintro.mp4\n");
    const id = /(fc-\w+) is still running/.exec(r.stderr)?.[1];
    expect(id).toBeDefined();
    expect(r.stderr).toContain(`[${id}] rendering intro`);
  });
});

const HAS_BWRAP = spawnSync("bwrap", ["--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "true"]).status === 0;

/** A Volume is mounted only on sandboxed workers. */
(HAS_BWRAP ? describe : describe.skip)("examples with a sandbox", () => {
  let server: TestServer;
  beforeAll(async () => (server = await TestServer.start({ env: { STUBRUN_SANDBOX: "on" } })));
  afterAll(() => server.stop());

  test("volume.ts commits a model from one function and reads it from another; the CLI lists it", async () => {
    const r = await server.run(["examples/volume.ts"]);
    expect(r.stdout).toBe('model tea: 9 letters, "t" seen 4 times\n');
    expect(r.code).toBe(0);
    expect((await server.run(["volume", "ls", "example-models"])).stdout).toMatch(/^tea\.json\t\d+\n$/);
  });
});
