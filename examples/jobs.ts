import { CallWaitTimeoutError, fn, FunctionCall, Stub } from "stubrun";

const stub = new Stub("jobs-example");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Jobs {
  @stub.function()
  async render(name: string, ms = 300): Promise<string> {
    console.log(`rendering ${name}`);
    await sleep(ms);
    return `${name}.mp4`;
  }

  /**
   * Spawns a job, then picks it up by its id as another program would (see docs/calls.md):
   * looks whether it has ended, follows its log lines, and gets its value.
   */
  @stub.localEntrypoint()
  async main(name = "intro") {
    const call = await fn(this.render).spawn(name, 500);
    const job = FunctionCall.fromId<string>(call.id);
    try {
      await job.get({ timeoutMs: 0 });
    } catch (error) {
      if (!(error instanceof CallWaitTimeoutError)) throw error;
      console.error(`${call.id} is still running`);
    }
    for await (const line of job.logs()) console.error(`[${call.id}] ${line.data.trimEnd()}`);
    return job.get();
  }
}
