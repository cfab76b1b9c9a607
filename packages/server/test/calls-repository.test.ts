import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CallsRepository } from "../src/state/calls.repository";
import { openDatabase, type StateDatabase } from "../src/state/database";

/** CallsRepository over a real SQLite in a temp folder: what a reader sees after writes are batched. */
let home: string;
let db: StateDatabase;
let calls: CallsRepository;

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-calls-repo-"));
  db = openDatabase(home);
  calls = new CallsRepository(db);
});

afterEach(() => {
  calls.flush();
  db.close();
  fs.rmSync(home, { recursive: true, force: true });
});

const rows = () => db.prepare("SELECT id, state, attempts, ended_at, error FROM calls ORDER BY id").all() as { id: string; state: string; attempts: number; ended_at: number | null; error: string | null }[];

test("a call that ends before its row is written is written once, with its final state and attempts", () => {
  calls.started("c1", "ap-1", "A.f", 1_000);
  calls.attempt("c1", 2);
  calls.finished("c1", "failed", 2_000, "Error: boom");
  calls.flush();
  expect(rows()).toEqual([{ id: "c1", state: "failed", attempts: 2, ended_at: 2_000, error: "Error: boom" }]);
});

test("a call whose row is written while it runs is updated when it ends", () => {
  calls.started("c1", "ap-1", "A.f", 1_000);
  calls.flush();
  expect(rows()).toEqual([{ id: "c1", state: "running", attempts: 0, ended_at: null, error: null }]);
  calls.attempt("c1", 2);
  calls.finished("c1", "succeeded", 3_000);
  expect(calls.recent("ap-1")).toMatchObject([{ id: "c1", state: "succeeded", attempts: 2, endedAt: 3_000, error: null }]);
});

describe("rows written later", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test("a running call's row waits for its end a moment, then is written running; an ended call's row is written soon", () => {
    calls.started("c1", "ap-1", "A.f", Date.now());
    jest.advanceTimersByTime(20);
    expect(rows()).toEqual([]); // its end may come before its row is written
    calls.finished("c1", "succeeded", Date.now());
    jest.advanceTimersByTime(20);
    expect(rows()).toMatchObject([{ id: "c1", state: "succeeded" }]);
    calls.started("c2", "ap-1", "A.f", Date.now());
    jest.advanceTimersByTime(1_000);
    expect(rows()).toMatchObject([{ id: "c1" }, { id: "c2", state: "running" }]);
  });

  test("calls of the same ms are listed in the order they started, whichever row was written first", () => {
    const at = Date.now();
    for (const id of ["c1", "c2", "c3"]) calls.started(id, "ap-1", "A.f", at);
    calls.finished("c3", "succeeded", at);
    jest.advanceTimersByTime(20); // c3's row is written, c1's and c2's wait
    calls.finished("c1", "succeeded", at);
    expect(calls.recent("ap-1").map((c) => c.id)).toEqual(["c3", "c2", "c1"]);
  });

  test("many rows at once are all written, each once", () => {
    for (let i = 0; i < 300; i++) calls.started(`c${i}`, "ap-1", "A.f", 1_000 + i);
    for (let i = 0; i < 300; i += 2) calls.finished(`c${i}`, "succeeded", 5_000);
    calls.flush();
    const written = rows();
    expect(written).toHaveLength(300);
    expect(written.filter((r) => r.state === "succeeded")).toHaveLength(150);
  });
});
