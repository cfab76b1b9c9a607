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
