import fs from "node:fs";
import path from "node:path";
import { callDeployed, writeCallScript } from "./deploy-helpers";
import { RawClient } from "./raw-client";
import { BinProcess, removeTempDirs, runBin, tempDir, TestServer, waitUntil, writeFixture, type RunResult } from "./harness";

/**
 * SPEC §2 Images, through the real bin against a real server: a real `npmInstall` from the
 * registry built once (its log streamed with progress) and imported in the function with
 * `await import()`; reused by a second app and after a server restart without building again; a
 * failing install failing the run with npm's message; two runs at once building once; the
 * image's env (under the function's secrets) and what its commands wrote, found through
 * `STUBRUN_IMAGE_DIR`.
 *
 * How a build is seen: each build step appends a line to a counter file of the test's own (the
 * image's last command), the CLI prints "Building image ..." only when it waited for a build,
 * and `image.build` replies `{ built: false }` for an image that was already built.
 */

const work = tempDir("images");
const BUILDS = path.join(work, "builds.txt");

/** The image both apps use: a registry package, env, and commands whose output the function reads. */
writeFixture(
  "images-shared.ts",
  `import { Image } from "stubrun";

export const padImage = Image.node()
  .npmInstall("left-pad@1.3.0")
  .env({ IMG_MODE: "from-image", CLASH: "image" })
  .runCommands("echo made-by-the-image > made.txt", ${JSON.stringify(`echo "built $STUBRUN_IMAGE_DIR" >> ${BUILDS}`)});

/** What a function sees of its image (left-pad resolved from the image's folder, not the project's). */
export async function describeImage(s: string) {
  const { default: leftPad } = await import("left-pad");
  const fs = await import("node:fs");
  const dir = process.env.STUBRUN_IMAGE_DIR ?? "none";
  return {
    padded: leftPad(s, 6, "*"),
    fromImage: require.resolve("left-pad").startsWith(dir + "/node_modules/"),
    mode: process.env.IMG_MODE,
    clash: process.env.CLASH,
    made: fs.readFileSync(dir + "/made.txt", "utf8").trim(),
    binFirst: (process.env.PATH ?? "").split(":")[0] === dir + "/node_modules/.bin",
  };
}
`,
);

/** The image on the stub, a secret that clashes with its env. */
const FIRST = writeFixture(
  "images-first.ts",
  `import { Stub, Secret } from "stubrun";
import { describeImage, padImage } from "./images-shared";

const stub = new Stub("images-first", { image: padImage, secrets: [Secret.fromObject({ CLASH: "secret" })] });

class First {
  @stub.function()
  async pad(s: string) {
    return describeImage(s);
  }
}
`,
);

/** The same image, given per function, in another app. */
const SECOND = writeFixture(
  "images-second.ts",
  `import { Stub } from "stubrun";
import { describeImage, padImage } from "./images-shared";

const stub = new Stub("images-second");

class Second {
  @stub.function({ image: padImage })
  async pad(s: string) {
    return describeImage(s);
  }
}
`,
);

const FAILING = writeFixture(
  "images-failing.ts",
  `import { Stub, Image } from "stubrun";

const stub = new Stub("images-failing");

class Failing {
  @stub.function({ image: Image.node().npmInstall("stubrun-no-such-package-e2e-zz9@1.0.0") })
  f() {
    return 1;
  }
}
`,
);

/** An image whose build waits for the test's go-ahead, so two runs surely overlap. */
const STARTED = path.join(work, "slow-started.txt");
const RELEASE = path.join(work, "slow-release");
const SLOW = writeFixture(
  "images-slow.ts",
  `import { Stub, Image } from "stubrun";

const image = Image.node().runCommands(${JSON.stringify(`echo "started $STUBRUN_IMAGE_DIR" >> ${STARTED}`)}, ${JSON.stringify(`while [ ! -f ${RELEASE} ]; do sleep 0.05; done`)});
const stub = new Stub("images-slow", { image });

class Slow {
  @stub.function()
  ready() {
    return "ready " + process.env.STUBRUN_IMAGE_DIR?.length;
  }
}
`,
);

/** The same code with another image, chosen by the CLI's environment when the file loads. */
const CHOSEN = writeFixture(
  "images-chosen.ts",
  `import { Stub, Image } from "stubrun";

const stub = new Stub("images-chosen", { image: Image.node().env({ CHOSEN: process.env.IMAGE_CHOICE ?? "unset" }) });

class Chosen {
  @stub.function()
  which() {
    return process.env.CHOSEN;
  }
}
`,
);
const CALL = writeCallScript("images");

const BUILDING = /Building image ([0-9a-f]{12}) \(step (\d+)\/(\d+): ([^)]*)\)/;

/**
 * How many times the image was built in the place that built it most: each line names the image
 * folder it was built in, so a server and (in queue mode) each worker node count on their own.
 */
function builds(file = BUILDS): number {
  if (!fs.existsSync(file)) return 0;
  const perPlace = new Map<string, number>();
  for (const line of fs.readFileSync(file, "utf8").trim().split("\n")) perPlace.set(line, (perPlace.get(line) ?? 0) + 1);
  return Math.max(...perPlace.values());
}

function expectSucceeded(r: RunResult): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
}

const EXPECTED = { padded: "****ab", fromImage: true, mode: "from-image", clash: "secret", made: "made-by-the-image", binFirst: true };

/** What `image.build` answers for the image of images-shared.ts, asked by hand. */
async function buildReply(server: TestServer, image: object): Promise<{ ok?: boolean; value?: unknown; error?: { message: string } }> {
  const client = await RawClient.open(server);
  try {
    return await client.request({ type: "image.build", id: 1, image });
  } finally {
    await client.close();
  }
}

const SHARED_IMAGE = {
  steps: [
    { kind: "npmInstall", packages: ["left-pad@1.3.0"] },
    { kind: "env", values: { IMG_MODE: "from-image", CLASH: "image" } },
    { kind: "runCommands", commands: ["echo made-by-the-image > made.txt", `echo "built $STUBRUN_IMAGE_DIR" >> ${BUILDS}`] },
  ],
};

describe("images (SPEC §2): built once where the workers run, cached by content, log streamed", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterEach(() => BinProcess.killAll());
  afterAll(async () => {
    await server?.stop();
    removeTempDirs();
  });

  test("a real npmInstall is built with its log and progress on stderr, and the function imports the package with await import()", async () => {
    const r = await runBin([FIRST, "--s", "ab"], { env: server.env });
    expectSucceeded(r);
    expect(JSON.parse(r.stdout)).toEqual(EXPECTED);
    const steps = [...r.stderr.matchAll(new RegExp(BUILDING, "g"))].map((m) => `${m[2]}/${m[3]}: ${m[4]}`);
    expect(steps).toEqual(["1/3: npm install left-pad@1.3.0", "2/3: env IMG_MODE, CLASH", "3/3: run echo made-by-the-image > made.txt; echo \"built $STUBRUN_IMAGE_DIR\" >> " + BUILDS]);
    expect(r.stderr).toMatch(/added 1 package/); // npm's own log line, streamed
    expect(r.stderr).toMatch(/Image [0-9a-f]{12} ready in \d+\.\d s/);
    // The build log comes before the app is created: the server refuses an app whose image is not built.
    expect(r.stderr.indexOf("Building image")).toBeLessThan(r.stderr.indexOf("Created app"));
    expect(builds()).toBe(1);
  });

  test("a second app with the same image does not build it again: no Building line, and image.build answers built: false", async () => {
    const r = await runBin([SECOND, "--s", "ab"], { env: server.env });
    expectSucceeded(r);
    expect(JSON.parse(r.stdout)).toEqual({ ...EXPECTED, clash: "image" }); // no secret in this app: the image's value
    expect(r.stderr).not.toMatch(/Building image|ready in/);
    expect(builds()).toBe(1);
    expect(await buildReply(server, SHARED_IMAGE)).toMatchObject({ ok: true, value: { built: false, seconds: 0, image: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });

  test("a failing install fails the run with npm's message and exit 1, before any app is created, even under --quiet", async () => {
    const r = await runBin(["--quiet", FAILING], { env: server.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/image [0-9a-f]{12} failed at step 1\/1 \(npm install stubrun-no-such-package-e2e-zz9@1\.0\.0\): exited with code 1/);
    expect(r.stderr).toMatch(/npm error (code E404|404 Not Found)/);
    expect(r.stderr).not.toMatch(/Created app|Building image/);
    // Deploying it fails the same way; nothing of the failed build is kept.
    const deploy = await runBin(["deploy", FAILING], { env: server.env });
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toMatch(/failed at step 1\/1[\s\S]*npm error/);
    const left = fs.readdirSync(path.join(server.home, "images")).filter((name) => !fs.existsSync(path.join(server.home, "images", name, ".built")));
    expect(left).toEqual([]);
  });

  test("two runs that need the same image at once build it once; the second follows the first's log", async () => {
    const first = new BinProcess([SLOW], server.env);
    await waitUntil(() => fs.existsSync(STARTED), { what: "the slow image's build to start" });
    const second = new BinProcess([SLOW], server.env);
    await second.waitFor(BUILDING); // it joined the build under way and replayed its log
    fs.writeFileSync(RELEASE, "go");
    const [a, b] = await Promise.all([first.exited, second.exited]);
    expectSucceeded(a);
    expectSucceeded(b);
    expect(a.stdout).toMatch(/^ready \d+/);
    expect(b.stdout).toMatch(/^ready \d+/);
    expect(builds(STARTED)).toBe(1);
  });

  test("the server refuses an app whose image is not built, saying so", async () => {
    const client = await RawClient.open(server);
    try {
      const image = { steps: [{ kind: "runCommands", commands: ["echo never built"] }] };
      const options = { timeout: 10, retries: { maxRetries: 0, initialDelayMs: 0, backoffCoefficient: 1, maxDelayMs: 0 }, concurrencyLimit: 1, keepWarm: 0, containerIdleTimeout: 10, image };
      const fn = { name: "A.f", className: "A", methodName: "f", kind: "function", options, params: [] };
      const reply = await client.request({ type: "app.create", id: 2, manifest: { entry: "main.js", projectRoot: "/x", functions: [fn] }, files: [{ path: "main.js", code: "" }] });
      expect(reply.ok).toBe(false);
      expect(reply.error?.message).toMatch(/function A\.f: its image [0-9a-f]{12} is not built on this server; build it first/);
    } finally {
      await client.close();
    }
  });

  test("a redeploy that changes only the image (same code) is served by new workers in the new image", async () => {
    for (const choice of ["one", "two"]) {
      const deploy = await runBin(["deploy", CHOSEN], { env: { ...server.env, IMAGE_CHOICE: choice } });
      expectSucceeded(deploy);
      // The first call leaves an idle worker of the first image behind; the second must not use it.
      expect(await callDeployed(CALL, server.env, "images-chosen", "Chosen.which")).toBe(choice);
    }
  });

  test("after a server restart the image is still built: a run does not build it", async () => {
    await server.stop({ keepHome: true });
    server = await TestServer.start({ home: server.home });
    const r = await runBin([FIRST, "--s", "ab"], { env: server.env });
    expectSucceeded(r);
    expect(JSON.parse(r.stdout)).toEqual(EXPECTED);
    expect(r.stderr).not.toMatch(/Building image|ready in/);
    expect(builds()).toBe(1);
    expect(await buildReply(server, SHARED_IMAGE)).toMatchObject({ ok: true, value: { built: false } });
  });
});
