import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_LIMITS, loadLimits } from "../src/config/limits";

/** SPEC §4: limits are on by default and each can be raised in the server's configuration. */

let home: string;
beforeEach(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-limits-"))));
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const writeConfig = (config: unknown) => fs.writeFileSync(path.join(home, "config.json"), typeof config === "string" ? config : JSON.stringify(config));

test("without config.json the defaults hold", () => {
  expect(loadLimits(home, {}, {})).toEqual(DEFAULT_LIMITS);
});

test("config.json raises a limit; STUBRUN_WORKER_MEMORY_MB sets the worker heap; overrides come last", () => {
  writeConfig({ limits: { maxConnections: 2048, maxWorkers: 4 } });
  const limits = loadLimits(home, { maxWorkers: 2 }, { STUBRUN_WORKER_MEMORY_MB: "256" });
  expect(limits).toMatchObject({ maxConnections: 2048, maxWorkers: 2, workerMemoryMb: 256, maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes });
});

test("a bad config.json stops the server with a message naming what is wrong", () => {
  writeConfig("{ not json");
  expect(() => loadLimits(home, {}, {})).toThrow(/config\.json is not valid JSON/);
  writeConfig({ limits: { maxConections: 5 } });
  expect(() => loadLimits(home, {}, {})).toThrow(/unknown limit "maxConections"; the limits are: maxMessageBytes/);
  writeConfig({ limits: { maxWorkers: 0 } });
  expect(() => loadLimits(home, {}, {})).toThrow(/limit "maxWorkers" must be a whole number >= 1, got 0/);
  writeConfig({ limit: {} });
  expect(() => loadLimits(home, {}, {})).toThrow(/unknown setting "limit"/);
});

test("maxValueDepth cannot be raised past what JSON.stringify survives", () => {
  writeConfig({ limits: { maxValueDepth: 100_000 } });
  expect(() => loadLimits(home, {}, {})).toThrow(/"maxValueDepth" can be at most 4096/);
});
