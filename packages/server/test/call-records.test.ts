import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";
import type { CallInfo } from "@stubrun/protocol";
import { CallRecorder } from "../src/apps/call-recorder";
import { callFigures } from "../src/http/call-figures";
import { callInfo } from "../src/http/call-info";
import { callDisplay } from "../src/http/call-display";
import { callRow, page } from "../src/http/page-layout";
import { CallsRepository } from "../src/state/calls.repository";
import { openDatabase, type StateDatabase } from "../src/state/database";
import { LogsRepository } from "../src/state/logs.repository";
import { Retention } from "../src/state/retention";

/** Issue 13 items 4-5 and issue 14 item 1: what a call's record keeps, how it is read by id, and the figures made of it. */

const HOUR = 3_600_000;
let home: string;
let db: StateDatabase;
let calls: CallsRepository;
let recorder: CallRecorder;
let logs: LogsRepository;

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-call-records-"));
  db = openDatabase(home);
  calls = new CallsRepository(db);
  logs = new LogsRepository(db);
  recorder = new CallRecorder(calls, logs, 128);
});
afterEach(() => {
  logs.flush(); // a failed call's line in the app's logs
  db.close();
  fs.rmSync(home, { recursive: true, force: true });
});

test("a call keeps its arguments' preview and its result or error; a result over the limit is not kept, and says so", () => {
  recorder.started("fc-1", "ap-1", "F.f", [21, { $: "date", v: "1970-01-01T00:00:00.000Z" }]);
  recorder.finished("ap-1", "fc-1", "F.f", { state: "succeeded", value: { y: 42 } });
  recorder.started("fc-2", "ap-1", "F.f", ["x".repeat(10_000)]);
  recorder.finished("ap-1", "fc-2", "F.f", { state: "succeeded", value: "y".repeat(200) });
  recorder.started("fc-3", "ap-1", "F.g", []);
  recorder.finished("ap-1", "fc-3", "F.g", { state: "failed", error: { name: "RangeError", message: "too big", stack: "RangeError: too big\n    at g (app.js:3:9)" } });

  const one = callInfo(calls.get("fc-1")!, 24);
  expect(one).toMatchObject({ id: "fc-1", appId: "ap-1", functionName: "F.f", state: "succeeded", attempts: 1, args: '[21,{"$":"date","v":"1970-01-01T00:00:00.000Z"}]', result: { y: 42 } });
  expect(callDisplay(one)).toEqual({ args: "#1 21\n#2 1970-01-01T00:00:00.000Z", result: "{ y: 42 }", error: null });

  const two = callInfo(calls.get("fc-2")!, 24);
  expect(two.args!.length).toBeLessThanOrEqual(4097);
  expect(two.result).toBeUndefined();
  expect(two.unavailable).toContain("larger than limits.maxKeptResultBytes");

  const three = callInfo(calls.get("fc-3")!, 24);
  expect(three.error).toEqual({ name: "RangeError", message: "too big", stack: "RangeError: too big\n    at g (app.js:3:9)" });
  expect(callDisplay(three).error).toContain("at g (app.js:3:9)");
  expect(calls.get("fc-nope")).toBeUndefined();
});

test("a result is readable by id for callResultRetentionHours after the call ended, then it is not", async () => {
  calls.started("fc-old", "ap-1", "F.f", Date.now() - 30 * HOUR, "[]");
  calls.finished("fc-old", "succeeded", Date.now() - 25 * HOUR, undefined, { result: "1" });
  calls.started("fc-new", "ap-1", "F.f", Date.now() - HOUR, "[]");
  calls.finished("fc-new", "succeeded", Date.now() - HOUR, undefined, { result: "2" });
  expect(callInfo(calls.get("fc-old")!, 24).unavailable).toContain("no longer kept: results are kept for 24 hour(s)");
  expect(callInfo(calls.get("fc-old")!, 48).result).toBe(1);
  // The sweep forgets what expired, and only that.
  await new Retention(db, path.join(home, "code"), 7, () => {}, Date.now, 24).sweep();
  expect(calls.get("fc-old")!.result).toBeNull();
  expect(callInfo(calls.get("fc-new")!, 24).result).toBe(2);
});

test("whenEnded tells a waiter once the call's end is written; recent() filters by function and state", async () => {
  calls.started("fc-a", "ap-1", "F.f", 1, null);
  calls.started("fc-b", "ap-1", "F.g", 2, null);
  expect(calls.get("fc-a")!.state).toBe("running");
  const ended = new Promise<string>((resolve) => calls.whenEnded("fc-a", () => resolve(calls.get("fc-a")!.state)));
  calls.finished("fc-a", "cancelled", 3, "CallCancelledError: cancelled");
  await expect(ended).resolves.toBe("cancelled");
  expect(calls.recent("ap-1", 50, { functionName: "F.g" }).map((c) => c.id)).toEqual(["fc-b"]);
  expect(calls.recent("ap-1", 50, { state: "cancelled" }).map((c) => c.id)).toEqual(["fc-a"]);
  expect(calls.recent("ap-1", 50, { functionName: "F.g", state: "cancelled" })).toEqual([]);
});

test("figures: per function and minute of the last hour, calls, error rate, p50 and p95; functions without calls are there too", () => {
  const now = Date.parse("2030-01-01T12:00:30Z");
  const at = (minutesAgo: number, ms: number, state: "succeeded" | "failed" | "cancelled" = "succeeded") => ({
    functionName: "F.f",
    state,
    createdAt: now - minutesAgo * 60_000 - ms,
    endedAt: now - minutesAgo * 60_000,
  });
  const timings = [...Array.from({ length: 19 }, (_, i) => at(0, (i + 1) * 10)), at(0, 1000, "failed"), at(5, 50, "cancelled"), at(90, 5)];
  const [f, g] = callFigures(["F.f", "F.g"], timings, now);
  expect(f.minutes).toHaveLength(60);
  expect(f.calls[59]).toBe(20);
  expect(f.calls[54]).toBe(1);
  expect(f.calls.reduce((a, b) => a + b, 0)).toBe(21); // the call of 90 minutes ago is out
  expect(f.errorRate[59]).toBe(0.05);
  expect(f.errorRate[54]).toBe(0); // cancelled is no error
  expect(f.errorRate[0]).toBeNull();
  expect(f.p50[59]).toBe(100);
  expect(f.p95[59]).toBe(190);
  expect(f.total).toMatchObject({ calls: 21, callsPerMinute: 21 / 60 });
  expect(g).toMatchObject({ functionName: "F.g", total: { calls: 0, errorRate: null, p50: null } });
});

test("the pages' row renderers run the same in the page's script as on the server", () => {
  const html = page("t", "", "");
  const script = /<script>([\s\S]*)<\/script>/.exec(html)![1];
  const context = vm.createContext({});
  vm.runInContext(script, context);
  const record = { id: "fc-<1>", functionName: "F.f", state: "failed" as const, attempts: 2, createdAt: 0, endedAt: 1500, error: "Error: <b>" };
  expect(vm.runInContext(`callRow(${JSON.stringify(record)}, "ap-1")`, context)).toBe(callRow(record, "ap-1"));
  expect(callRow(record, "ap-1")).toContain("&lt;b&gt;");
});

test("a call's arguments cut at the preview show as they were kept", () => {
  const info = { id: "fc-1", appId: "a", functionName: "F.f", state: "running", attempts: 1, createdAt: "", endedAt: null, durationMs: null, args: '["abc' } as CallInfo;
  expect(callDisplay(info).args).toBe('["abc\n(arguments cut: only the start is kept)');
});

test("a database an older server made gets the new call columns, its rows kept", () => {
  const old = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-old-db-"));
  try {
    const Database = require("better-sqlite3") as typeof import("better-sqlite3");
    const raw = new Database(path.join(old, "state.db"));
    raw.exec("CREATE TABLE calls (id TEXT PRIMARY KEY, app_id TEXT NOT NULL, function TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, ended_at INTEGER, error TEXT)");
    raw.prepare("INSERT INTO calls (id, app_id, function, state, created_at, ended_at) VALUES ('fc-old', 'ap-1', 'F.f', 'succeeded', 1, 2)").run();
    raw.close();
    const reopened = openDatabase(old);
    const stored = new CallsRepository(reopened).get("fc-old")!;
    expect(stored).toMatchObject({ id: "fc-old", state: "succeeded", args: null, result: null, errorJson: null });
    expect(callInfo(stored, 24 * 365 * 100).unavailable).toContain("was not kept");
    reopened.close();
  } finally {
    fs.rmSync(old, { recursive: true, force: true });
  }
});
