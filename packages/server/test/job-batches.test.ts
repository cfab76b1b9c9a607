import { DEFAULT_FUNCTION_OPTIONS, type CallJobData } from "@stubrun/protocol";
import { batchJobs, MAX_CALLS_PER_JOB, type PendingJob } from "../src/dispatcher/job-batches";

/** How the queue dispatcher puts a turn's calls into jobs: several to a job only where that changes nothing a caller sees. */

function job(i: number, options: { attempts?: number; node?: string; codeHash?: string; params?: Record<string, string> } = {}): PendingJob {
  const fn = { name: "A.f", className: "A", methodName: "f", kind: "function", options: DEFAULT_FUNCTION_OPTIONS, params: [] } as unknown as CallJobData["fn"];
  const data: CallJobData = { callId: `fc-${i}`, appId: "ap-1", fn, codeHash: options.codeHash ?? "c1", entry: "main.js", args: [i], ...(options.node ? { node: options.node } : {}), ...(options.params ? { params: options.params } : {}) };
  return { name: "A.f", data, opts: { jobId: `fc-${i}`, attempts: options.attempts ?? 1 } };
}

const calls = (jobs: PendingJob[]) => jobs.flatMap((j) => (j.data.batch ? j.data.batch.map((b) => b.callId) : [j.data.callId]));

describe("batchJobs", () => {
  test("few calls for the slots: one job each", () => {
    const jobs = Array.from({ length: 32 }, (_, i) => job(i));
    expect(batchJobs(jobs, 8)).toEqual(jobs);
  });

  test("many calls: batches, every call once and in order, at least 4 jobs per slot, at most MAX_CALLS_PER_JOB each", () => {
    const jobs = Array.from({ length: 20_000 }, (_, i) => job(i));
    const out = batchJobs(jobs, 8);
    expect(calls(out)).toEqual(jobs.map((j) => j.data.callId));
    expect(out.length).toBeGreaterThanOrEqual(4 * 8);
    expect(Math.max(...out.map((j) => j.data.batch?.length ?? 1))).toBeLessThanOrEqual(MAX_CALLS_PER_JOB);
    // A batch's job id is its own (a call's id stays free for a job of that call alone).
    expect(out[0].opts.jobId).toBe("batch-fc-0");
    expect(out[0].data.batch?.[1]).toEqual({ callId: "fc-1", args: [1] });
  });

  test("as many batches for each slot, of sizes within one of each other, the larger first: the slots' work comes out even", () => {
    // The calls a node's idle workers get (a job each) come first, as the dispatcher sends them.
    const jobs = [...Array.from({ length: 4 }, (_, i) => job(1000 + i, { node: "n1" })), ...Array.from({ length: 156 }, (_, i) => job(i))];
    const out = batchJobs(jobs, 4);
    expect(calls(out)).toEqual(jobs.map((j) => j.data.callId));
    const sizes = out.filter((j) => j.data.batch).map((j) => j.data.batch?.length);
    expect(sizes).toEqual([...Array(12).fill(10), ...Array(4).fill(9)]);
    const many = batchJobs(Array.from({ length: 20_000 }, (_, i) => job(i)), 8).map((j) => j.data.batch?.length ?? 1);
    expect(many.length % 8).toBe(0);
    expect(Math.max(...many) - Math.min(...many)).toBeLessThanOrEqual(1);
  });

  test("calls of different class parameters (their own workers) are never in one batch", () => {
    const jobs = Array.from({ length: 40 }, (_, i) => job(i, { params: { model: i < 20 ? "small" : "large" } }));
    const out = batchJobs(jobs, 1);
    expect(calls(out)).toEqual(jobs.map((j) => j.data.callId));
    for (const batch of out) expect(new Set((batch.data.batch ?? [batch.data]).map((b) => Number(b.callId.slice(3)) < 20)).size).toBe(1);
  });

  test("with no node connected, batches as for one slot", () => {
    const out = batchJobs(Array.from({ length: 40 }, (_, i) => job(i)), 0);
    expect(out.length).toBe(4);
  });

  test("calls with retries, calls sent to a node with an idle worker, and other code keep a job each or their own batch", () => {
    const jobs = [
      ...Array.from({ length: 20 }, (_, i) => job(i)),
      job(100, { attempts: 3 }),
      job(101, { node: "n1" }),
      ...Array.from({ length: 20 }, (_, i) => job(200 + i, { codeHash: "c2" })),
    ];
    const out = batchJobs(jobs, 1);
    expect(calls(out).sort()).toEqual(jobs.map((j) => j.data.callId).sort());
    expect(out.find((j) => j.data.callId === "fc-100")?.data.batch).toBeUndefined();
    expect(out.find((j) => j.data.callId === "fc-101")?.data.batch).toBeUndefined();
    for (const j of out) if (j.data.batch) expect(new Set(j.data.batch.map((b) => jobs.find((x) => x.data.callId === b.callId)?.data.codeHash)).size).toBe(1);
  });
});
