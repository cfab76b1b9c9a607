import type { CallJobData } from "@stubrun/protocol";
import type { JobsOptions } from "bullmq";

/** A call's job before it is added to its queue. */
export interface PendingJob {
  name: string;
  data: CallJobData;
  opts: JobsOptions;
}

/** The most calls one job carries. */
export const MAX_CALLS_PER_JOB = 64;
/** Batches are made so that each slot of the connected nodes still gets at least this many jobs. */
const JOBS_PER_SLOT = 4;

/**
 * The jobs of one turn, with calls of one function and code that have no retries put several to
 * a job when there are many more of them than slots (a large `.map`): a job costs Redis round
 * trips, a call in a job does not. Calls with retries keep a job each (retries are BullMQ
 * attempts of the job), and so do calls sent to a node with an idle worker. A batch runs its
 * calls one after another in one slot, so there are enough batches to keep every slot busy.
 */
export function batchJobs(jobs: PendingJob[], slots: number): PendingJob[] {
  const size = Math.min(MAX_CALLS_PER_JOB, Math.floor(jobs.length / (JOBS_PER_SLOT * Math.max(1, slots))));
  if (size < 2) return jobs;
  const out: PendingJob[] = [];
  let group: PendingJob[] = [];
  const close = () => {
    if (group.length === 1) out.push(group[0]);
    else if (group.length > 1) {
      const [first] = group;
      const batch = group.map((job) => ({ callId: job.data.callId, args: job.data.args }));
      out.push({ name: first.name, data: { ...first.data, batch }, opts: { ...first.opts, jobId: `batch-${first.data.callId}` } });
    }
    group = [];
  };
  for (const job of jobs) {
    if ((job.opts.attempts ?? 1) > 1 || job.data.node !== undefined) {
      out.push(job);
      continue;
    }
    // One batch runs on one set of workers: the same code, and the same class parameters.
    if (group.length >= size || (group.length > 0 && !sameWorkers(group[0].data, job.data))) close();
    group.push(job);
  }
  close();
  return out;
}

function sameWorkers(a: CallJobData, b: CallJobData): boolean {
  return a.codeHash === b.codeHash && JSON.stringify(a.params ?? null) === JSON.stringify(b.params ?? null);
}
