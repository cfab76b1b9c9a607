import type { WorkerConfig } from "@stubrun/protocol";
import { PrestartedWorkers } from "../src/dispatcher/worker-pool-prestart";

/**
 * Workers started ahead (real processes): a taken one is replaced, unless its replacement is held
 * (a worker node whose slots are all busy), in which case it is replaced once released.
 */

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("a taken worker is not replaced while the refill is held, and is once it is released", async () => {
  const pool = new PrestartedWorkers(1, () => 64, { PATH: process.env.PATH });
  try {
    await until(() => pool.count === 1, "one worker started ahead");
    pool.holdRefill(true);
    // A plain (unsandboxed) pool reads nothing of the config.
    const taken = pool.take(64, {}, {} as WorkerConfig, undefined);
    expect(taken).toBeDefined();
    taken?.child.kill("SIGKILL");
    // Longer than the refill's delay: still none while held.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(pool.count).toBe(0);
    pool.holdRefill(false);
    await until(() => pool.count === 1, "the taken worker replaced");
  } finally {
    pool.close();
  }
});
