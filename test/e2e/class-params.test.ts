import path from "node:path";
import { runNode } from "./deploy-helpers";
import { ROOT, withTestServer, writeFixture, type TestServer } from "./harness";

/**
 * Issue 12 item 6: parametrized classes (Modal's `modal.parameter()`). `@stub.parameter()`
 * properties are set per instance, from `fn(this.f).with({...})` and from CLI options, before the
 * enter hooks run; each distinct set of values has workers of its own; values are checked on the
 * client and on the server; a deployed app's `lookup(...).with({...})` works too.
 */
const APP = writeFixture(
  "class-params.ts",
  `import { Stub, fn } from "stubrun";
const stub = new Stub("class-params");

type Size = "small" | "large";

class Model {
  /** which model to load */
  @stub.parameter() size: Size = "small";
  @stub.parameter() temperature!: number;
  @stub.parameter({ default: false }) loud!: boolean;
  loaded = "";

  @stub.enter()
  load() {
    this.loaded = this.size + "@" + this.temperature;
  }

  @stub.function()
  predict(x: number): string {
    console.log("predicting " + x + " with " + this.loaded);
    return this.loaded + " loud=" + this.loud + " x=" + x + " worker=" + process.pid;
  }

  @stub.localEntrypoint()
  async main() {
    const small = fn(this.predict).with({ size: "small", temperature: 1 });
    const large = fn(this.predict).with({ temperature: 2 }).with({ size: "large", loud: true });
    const [a, b] = await Promise.all([small.remote(1), large.remote(2)]);
    const ys: string[] = [];
    for await (const y of large.map([3, 4])) ys.push(y);
    console.log(JSON.stringify({ a, b, ys, local: await small.local(5) }));
  }

  /** The entrypoint's instance has the options' values; fn(this.f) in it carries them. */
  @stub.localEntrypoint()
  async fromOptions() {
    console.log("here " + this.size + "@" + this.temperature);
    console.log("remote " + (await fn(this.predict).remote(6)));
    console.log("with " + (await fn(this.predict).with({ size: "small" }).remote(7)));
  }

  @stub.localEntrypoint()
  async mistakes() {
    const tries: [string, () => unknown][] = [
      ["unknown", () => fn(this.predict).with({ colour: "red" } as any)],
      ["type", () => fn(this.predict).with({ temperature: "hot" } as any)],
      ["choice", () => fn(this.predict).with({ size: "medium", temperature: 1 } as any).remote(1)],
      ["missing", () => fn(this.predict).remote(1)],
    ];
    for (const [label, attempt] of tries) {
      try {
        await attempt();
        console.log(label + ": no error");
      } catch (e) {
        console.log(label + ": " + (e as Error).message);
      }
    }
  }
}
`,
);

describe("parametrized classes", () => {
  let server: TestServer;
  withTestServer((s) => (server = s));

  test(".with() sets the parameters before the enter hooks, and two sets of values each see their own on workers of their own", async () => {
    const r = await server.run(["-q", `${APP}::Model.main`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
    const got = JSON.parse(line!) as { a: string; b: string; ys: string[]; local: string };
    expect(got.a).toMatch(/^small@1 loud=false x=1 worker=\d+$/);
    expect(got.b).toMatch(/^large@2 loud=true x=2 worker=\d+$/);
    expect(got.ys.map((y) => y.replace(/ worker=\d+$/, ""))).toEqual(["large@2 loud=true x=3", "large@2 loud=true x=4"]);
    expect(got.local).toMatch(/^small@1 loud=false x=5 /);
    const worker = (s: string) => s.replace(/^.* worker=/, "");
    expect(worker(got.a)).not.toBe(worker(got.b));
    // The function's output streamed back with each call.
    expect(r.stdout).toContain("predicting 1 with small@1\n");
    expect(r.stdout).toContain("predicting 2 with large@2\n");
  });

  test("the CLI takes the parameters as options beside the method's, and --help lists them", async () => {
    const r = await server.run(["-q", `${APP}::Model.predict`, "--x", "7", "--temperature", "3", "--size", "large", "--loud"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^predicting 7 with large@3\nlarge@3 loud=true x=7 worker=\d+\n$/);

    const defaults = await server.run(["-q", `${APP}::Model.predict`, "--x", "1", "--temperature", "0.5"]);
    expect(defaults.stdout).toMatch(/small@0.5 loud=false x=1 /);

    const help = await server.run([`${APP}::Model.predict`, "--help"]);
    expect(help.stdout).toContain("Parameters of class Model (@stub.parameter()):");
    expect(help.stdout).toMatch(/--size <small\|large>\s+which model to load  default: "small"/);
    expect(help.stdout).toMatch(/--temperature <number>\s+required/);
    expect(help.stdout).toMatch(/--loud, --no-loud\s+default: false/);

    const local = await server.run(["-q", `${APP}::Model.fromOptions`, "--size", "large", "--temperature", "4"]);
    expect(local.stderr).toBe("");
    expect(local.stdout).toMatch(/^here large@4\npredicting 6 with large@4\nremote large@4 loud=false x=6 worker=\d+\npredicting 7 with small@4\nwith small@4 loud=false x=7 worker=\d+\n$/);

    const missing = await server.run([`${APP}::Model.predict`, "--x", "1"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required option --temperature: expected a number");
    const bad = await server.run([`${APP}::Model.predict`, "--x", "1", "--temperature", "1", "--size", "medium"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('option --size expects one of "small", "large", got "medium"');
  });

  test("values are checked on the client (names, types) and on the server (choices, required ones), with clear errors", async () => {
    const r = await server.run(["-q", `${APP}::Model.mistakes`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('unknown: Model.predict.with(): class Model has no parameter "colour"; its parameters are: size, temperature, loud\n');
    expect(r.stdout).toContain('type: Model.predict.with(): parameter temperature of class Model must be a number, got string "hot"\n');
    expect(r.stdout).toContain('choice: Model.predict: parameter size of class Model must be one of "small", "large", got string "medium"\n');
    expect(r.stdout).toContain("missing: Model.predict: class Model needs a value for parameter temperature (no default): call fn(this.predict).with({ temperature: ... })\n");
  });

  test("a deployed app's looked-up function takes .with() too", async () => {
    const deployed = await server.run(["deploy", APP]);
    expect(deployed.code).toBe(0);
    const script = writeFixture(
      "class-params-call.mjs",
      `import { lookup } from "stubrun";
const predict = await lookup("class-params", "Model.predict");
console.log(await predict.with({ size: "large", temperature: 9 }).remote(1));
try { predict.with({ colour: "red" }); } catch (e) { console.log("client: " + e.message); }
try { await predict.remote(1); } catch (e) { console.log("server: " + e.message); }
`,
    );
    const r = await runNode(path.join(ROOT, script), [], server.env);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^predicting 1 with large@9$/);
    expect(lines[1]).toMatch(/^large@9 loud=false x=1 worker=\d+$/);
    expect(lines[2]).toBe('client: Model.predict: class Model has no parameter "colour"; its parameters are: size, temperature, loud');
    expect(lines[3]).toMatch(/^server: Model.predict: class Model needs a value for parameter temperature/);
  });
});
