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
 * calls one after another in one slot, so there are enough batches to keep every slot busy, as
 * many for each slot, and of sizes within one of each other (the larger first): with batches of
 * 10 and one of 6 on 4 slots, three slots ran 41 calls and one 37, and the turn took as long as 41.
 */
export function batchJobs(jobs: PendingJob[], slots: number): PendingJob[] {
  const perRound = Math.max(1, slots);
  const batchable = jobs.filter((job) => !keepsOwnJob(job)).length;
  // JOBS_PER_SLOT batches a slot, more when they would carry over MAX_CALLS_PER_JOB; a whole number for each slot.
  const count = Math.max(JOBS_PER_SLOT, Math.ceil(batchable / (MAX_CALLS_PER_JOB * perRound))) * perRound;
  if (batchable < 2 * count) return jobs;
  const smallest = Math.floor(batchable / count);
  const larger = batchable % count; // the first `larger` batches carry one more call
  let made = 0;
  const out: PendingJob[] = [];
  let group: PendingJob[] = [];
  const close = () => {
    if (group.length === 1) out.push(group[0]);
    else if (group.length > 1) {
      const [first] = group;
      const batch = group.map((job) => ({ callId: job.data.callId, args: job.data.args }));
      out.push({ name: first.name, data: { ...first.data, batch }, opts: { ...first.opts, jobId: `batch-${first.data.callId}` } });
    }
    if (group.length > 0) made++;
    group = [];
  };
  for (const job of jobs) {
    if (keepsOwnJob(job)) {
      out.push(job);
      continue;
    }
    // One batch runs on one set of workers: the same code, and the same class parameters.
    if (group.length >= smallest + (made < larger ? 1 : 0) || (group.length > 0 && !sameWorkers(group[0].data, job.data))) close();
    group.push(job);
  }
  close();
  return out;
}

/** Calls with retries (their retries are BullMQ attempts) and calls sent to a node with an idle worker. */
function keepsOwnJob(job: PendingJob): boolean {
  return (job.opts.attempts ?? 1) > 1 || job.data.node !== undefined;
}

function sameWorkers(a: CallJobData, b: CallJobData): boolean {
  return a.codeHash === b.codeHash && JSON.stringify(a.params ?? null) === JSON.stringify(b.params ?? null);
}
