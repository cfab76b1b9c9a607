import { createCli, normalizeArgv } from "../src/cli";
import { simpleRunArgs } from "../src/run/run-argv";

describe("normalizeArgv: everything after FILE belongs to the entrypoint", () => {
  test.each([
    [["hello.ts"], ["run", "hello.ts", "--"]],
    [["hello.ts", "--n", "1", "--quiet"], ["run", "hello.ts", "--", "--n", "1", "--quiet"]],
    [["-q", "--detach", "jobs.ts::Jobs.main", "--help"], ["run", "-q", "--detach", "jobs.ts::Jobs.main", "--", "--help"]],
    [["run", "hello.ts", "--x"], ["run", "hello.ts", "--", "--x"]],
    [["deploy", "app.ts", "--name", "x"], ["deploy", "app.ts", "--name", "x"]],
    [["app", "logs", "ap-1", "--follow"], ["app", "logs", "ap-1", "--follow"]],
    [["server", "--port", "0"], ["server", "--port", "0"]],
    [["--help"], ["--help"]],
    [["call", "calc", "Calc.square", "--x", "4"], ["call", "calc", "Calc.square", "--", "--x", "4"]],
    [["call", "--version", "2", "calc", "Calc.square", "--help"], ["call", "--version", "2", "calc", "Calc.square", "--", "--help"]],
    [["call", "calc"], ["call", "calc"]],
    [["call", "--help"], ["call", "--help"]],
    [["--env", "dev", "hello.ts", "--n", "1"], ["run", "--env", "dev", "hello.ts", "--", "--n", "1"]],
    [["--env", "dev", "deploy", "app.ts"], ["--env", "dev", "deploy", "app.ts"]],
    [["app", "list", "--env", "prod"], ["app", "list", "--env", "prod"]],
    [["call", "--env", "prod", "calc", "Calc.square", "--env", "x"], ["call", "--env", "prod", "calc", "Calc.square", "--", "--env", "x"]],
  ])("%j becomes %j", (argv, expected) => {
    expect(normalizeArgv(argv)).toEqual(expected);
  });
});

describe("createCli parses in-process; handlers throw, the bin sets exit codes", () => {
  const context = { home: "/tmp/stubrun-cli-test-home" };
  const parse = (argv: string[]) => Promise.resolve().then(() => createCli(argv, context).parseAsync());

  test("an unknown flag is a usage error naming it", async () => {
    await expect(parse(["server", "--bogus"])).rejects.toMatchObject({ code: "USAGE", message: expect.stringMatching(/Unknown argument: bogus/) });
  });

  test("a bare `app` says what to do", async () => {
    await expect(parse(["app"])).rejects.toMatchObject({ code: "USAGE", message: expect.stringMatching(/app list, app stop APP, app delete APP, app logs APP/) });
  });

  test("a bad --port is a usage error", async () => {
    await expect(parse(["server", "start", "--port", "70000"])).rejects.toMatchObject({ code: "USAGE", message: expect.stringMatching(/--port expects a port number/) });
  });
});

describe("simpleRunArgs: `stubrun FILE` with the common flags goes around yargs; anything else is yargs'", () => {
  test.each([
    [["hello.ts"], { target: "hello.ts", quiet: false, detach: false, "--": [] }],
    [["-q", "--detach", "jobs.ts::Jobs.main", "--n", "1", "--help"], { target: "jobs.ts::Jobs.main", quiet: true, detach: true, "--": ["--n", "1", "--help"] }],
    [["run", "--quiet", "--env", "dev", "hello.ts", "-q"], { target: "hello.ts", quiet: true, detach: false, env: "dev", "--": ["-q"] }],
  ])("%j is read as %j", (argv, expected) => {
    expect(simpleRunArgs(normalizeArgv(argv))).toEqual(expected);
  });

  test.each([[["--help"]], [["--quiet=false", "hello.ts"]], [["--bogus", "hello.ts"]], [["--env", "hello.ts"]], [["-q"]], [["--", "hello.ts"]], [["deploy", "app.ts"]], [["app", "list"]]])(
    "%j is left to yargs",
    (argv) => {
      expect(simpleRunArgs(normalizeArgv(argv))).toBeUndefined();
    },
  );
});
