import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_LIMITS } from "../src/config/limits";
import { openDatabase, type StateDatabase } from "../src/state/database";
import { LogsRepository, type LogEntry } from "../src/state/logs.repository";

/** LogsRepository on a temp SQLite (the real openDatabase), with fake timers for its batching tick. */

let home: string;
let db: StateDatabase;
beforeEach(() => {
  jest.useFakeTimers({ now: Date.parse("2031-01-01T00:00:00Z") });
  home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-logs-"));
  db = openDatabase(home);
});
afterEach(() => {
  db.close();
  fs.rmSync(home, { recursive: true, force: true });
  jest.useRealTimers();
});

const line = (appId: string, data: string, callId: string | null = null) => ({ appId, callId, functionName: callId ? "A.f" : null, stream: "stdout" as const, data });

describe("LogsRepository", () => {
  test("appends are written together on the next tick, then followers hear each entry once, with its id", () => {
    const logs = new LogsRepository(db);
    const heard: LogEntry[] = [];
    const unfollow = logs.follow("ap-1", (e) => heard.push(e));
    logs.append(line("ap-1", "a\n"));
    logs.append(line("ap-2", "other\n"));
    logs.append(line("ap-1", "b\n"));
    expect(heard).toEqual([]);
    jest.runOnlyPendingTimers();
    expect(heard.map((e) => [e.data, typeof e.id])).toEqual([
      ["a\n", "number"],
      ["b\n", "number"],
    ]);
    unfollow();
    logs.append(line("ap-1", "c\n"));
    jest.runOnlyPendingTimers();
    expect(heard).toHaveLength(2);
  });

  test("recent reads what is queued too, oldest first, the newest `limit` of one app", () => {
    const logs = new LogsRepository(db);
    for (let i = 1; i <= 5; i++) logs.append(line("ap-1", `${i}\n`));
    logs.append(line("ap-2", "x\n"));
    expect(logs.recent("ap-1", 3)).toEqual({ entries: [3, 4, 5].map((i) => expect.objectContaining({ data: `${i}\n`, appId: "ap-1" })), omitted: 0 });
  });

  test("recent keeps within maxBytes: the newest entries that fit, and how many older ones were left out", () => {
    const logs = new LogsRepository(db);
    for (let i = 1; i <= 10; i++) logs.append(line("ap-1", `${"x".repeat(100)}\n`));
    const oneEntry = Buffer.byteLength(JSON.stringify(logs.recent("ap-1", 1).entries[0])) + 1;
    const { entries, omitted } = logs.recent("ap-1", 10, oneEntry * 3 + 1);
    expect(entries).toHaveLength(3);
    expect(omitted).toBe(7);
  });

  test("a call's output past maxOutputBytesPerCall (in UTF-8 bytes) is cut, with one line saying so", () => {
    const logs = new LogsRepository(db, { ...DEFAULT_LIMITS, maxOutputBytesPerCall: 10 });
    logs.append(line("ap-1", "ééé\n", "fc-1")); // 7 bytes
    logs.append(line("ap-1", "éééé\n", "fc-1")); // 3 bytes fit: "é" and not half of the next
    logs.append(line("ap-1", "more\n", "fc-1"));
    logs.append(line("ap-1", "other\n", "fc-2")); // each call has its own count
    expect(logs.recent("ap-1").entries.map((e) => [e.stream, e.data])).toEqual([
      ["stdout", "ééé\n"],
      ["stdout", "é"],
      ["system", "[stubrun: output of fc-1 over 10 bytes is not kept (limits.maxOutputBytesPerCall)]\n"],
      ["stdout", "other\n"],
    ]);
  });

  test("a call that ended starts its count again if its id comes back", () => {
    const logs = new LogsRepository(db, { ...DEFAULT_LIMITS, maxOutputBytesPerCall: 4 });
    logs.append(line("ap-1", "1234", "fc-1"));
    logs.callEnded("fc-1");
    logs.append(line("ap-1", "5678", "fc-1"));
    expect(logs.recent("ap-1").entries.map((e) => e.data)).toEqual(["1234", "5678"]);
  });

  test("each app keeps about maxLogLinesPerApp lines: the oldest go", () => {
    const logs = new LogsRepository(db, { ...DEFAULT_LIMITS, maxLogLinesPerApp: 5 });
    for (let i = 1; i <= 12; i++) {
      logs.append(line("ap-1", `${i}\n`));
      logs.flush();
    }
    const kept = logs.recent("ap-1", 100).entries.map((e) => Number(e.data));
    expect(kept.at(-1)).toBe(12);
    expect(kept.length).toBeLessThanOrEqual(10);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
  });

  test("entries carry the time they were appended", () => {
    const logs = new LogsRepository(db);
    logs.append(line("ap-1", "a\n"));
    expect(logs.recent("ap-1").entries[0].at).toBe(Date.parse("2031-01-01T00:00:00Z"));
  });
});
