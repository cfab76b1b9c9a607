import { RequestRefusedError, type AppManifest, type FunctionManifest } from "@stubrun/protocol";
import type { ServerLimits } from "../config/limits";

/** The limits a function's options are held to: the server's, from `ServerLimits`. */
export type OptionLimits = Pick<
  ServerLimits,
  "maxTimeoutSeconds" | "maxContainerIdleTimeoutSeconds" | "maxWorkersPerFunction" | "maxRetries" | "maxRetryDelayMs" | "maxFunctionMemoryMb"
>;

/**
 * Most a retry delay may grow per attempt. Delays stop at `maxDelayMs` anyway; this keeps the
 * arithmetic finite (`initialDelayMs * coefficient ** n`).
 */
export const MAX_BACKOFF_COEFFICIENT = 100;

/**
 * Checks every function's options against the server's limits, for `app.create`, `app.deploy`
 * and `app.update` alike (and for stored apps when the server starts). Timers hold at most
 * 2^31-1 ms, so an unbounded `timeout` or `containerIdleTimeout` would fire at once; unbounded
 * `concurrencyLimit`, `keepWarm` and `retries` would let one app take the machine. Throws a
 * RequestRefusedError naming the function, the option, its value, the limit and how to raise it.
 */
export function checkManifestLimits(manifest: AppManifest, limits: OptionLimits): void {
  for (const fn of manifest.functions) checkFunction(fn, limits);
}

function checkFunction(fn: FunctionManifest, limits: OptionLimits): void {
  const o = fn.options;
  const over = (option: string, value: number, unit: string, limit: keyof OptionLimits) => {
    if (!(value <= limits[limit])) {
      throw new RequestRefusedError(
        `function ${fn.name}: option "${option}" is ${value}${unit}, over the server's limit of ${limits[limit]}${unit}; ` +
          `lower it, or raise limits.${limit} in $STUBRUN_HOME/config.json and restart the server (npx stubrun server stop)`,
      );
    }
  };
  over("timeout", o.timeout, " s", "maxTimeoutSeconds");
  over("containerIdleTimeout", o.containerIdleTimeout, " s", "maxContainerIdleTimeoutSeconds");
  over("concurrencyLimit", o.concurrencyLimit, "", "maxWorkersPerFunction");
  if (!(o.keepWarm <= o.concurrencyLimit)) {
    throw new RequestRefusedError(
      `function ${fn.name}: option "keepWarm" is ${o.keepWarm}, over its concurrencyLimit of ${o.concurrencyLimit}; ` +
        `a function never runs more workers than its concurrencyLimit: lower keepWarm or raise concurrencyLimit`,
    );
  }
  if (o.memory !== undefined) over("memory", o.memory, " MiB", "maxFunctionMemoryMb");
  over("retries.maxRetries", o.retries.maxRetries, "", "maxRetries");
  over("retries.initialDelayMs", o.retries.initialDelayMs, " ms", "maxRetryDelayMs");
  over("retries.maxDelayMs", o.retries.maxDelayMs, " ms", "maxRetryDelayMs");
  if (!(o.retries.backoffCoefficient <= MAX_BACKOFF_COEFFICIENT)) {
    throw new RequestRefusedError(
      `function ${fn.name}: option "retries.backoffCoefficient" is ${o.retries.backoffCoefficient}, over ${MAX_BACKOFF_COEFFICIENT}; ` +
        `use a factor like 2 (each wait twice the one before), and maxDelayMs to cap the wait`,
    );
  }
}
