import { DEFAULT_FUNCTION_OPTIONS, RequestRefusedError, type AppManifest, type FunctionOptionsManifest } from "@stubrun/protocol";
import { DEFAULT_LIMITS } from "../src/config/limits";
import { checkManifestLimits } from "../src/apps/manifest-limits";

/** Issue 7 point 4: a function's options are bounded by the server's limits. */

function manifest(options: Partial<FunctionOptionsManifest>): AppManifest {
  const fn = { name: "Job.run", className: "Job", methodName: "run", kind: "function" as const, options: { ...DEFAULT_FUNCTION_OPTIONS, ...options }, params: [] };
  return { entry: "main.js", projectRoot: "/tmp", functions: [fn] };
}

const refusal = (options: Partial<FunctionOptionsManifest>, limits = DEFAULT_LIMITS): string => {
  try {
    checkManifestLimits(manifest(options), limits);
  } catch (error) {
    expect(error).toBeInstanceOf(RequestRefusedError);
    return (error as Error).message;
  }
  return "accepted";
};

const retries = (r: Partial<FunctionOptionsManifest["retries"]>) => ({ retries: { ...DEFAULT_FUNCTION_OPTIONS.retries, ...r } });

describe("checkManifestLimits", () => {
  test("the defaults and the limits themselves pass", () => {
    expect(refusal({})).toBe("accepted");
    expect(
      refusal({ timeout: 86_400, containerIdleTimeout: 86_400, concurrencyLimit: 64, keepWarm: 64, ...retries({ maxRetries: 10, initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, backoffCoefficient: 100 }) }),
    ).toBe("accepted");
  });

  test("each option over its limit: the function, the option, the value, the limit and how to raise it", () => {
    expect(refusal({ timeout: 2 ** 31 })).toBe(
      'function Job.run: option "timeout" is 2147483648 s, over the server\'s limit of 86400 s; lower it, or raise limits.maxTimeoutSeconds in $STUBRUN_HOME/config.json and restart the server (npx stubrun server stop)',
    );
    expect(refusal({ timeout: Infinity })).toMatch(/"timeout" is Infinity s, over/);
    expect(refusal({ timeout: NaN })).toMatch(/"timeout" is NaN s, over/);
    expect(refusal({ containerIdleTimeout: 25 * 86_400 })).toMatch(/"containerIdleTimeout" is 2160000 s, over the server's limit of 86400 s; .*limits\.maxContainerIdleTimeoutSeconds/);
    expect(refusal({ memory: 16_384, cpu: 2 })).toBe("accepted");
    expect(refusal({ memory: 20_000 })).toMatch(/"memory" is 20000 MiB, over the server's limit of 16384 MiB; .*limits\.maxFunctionMemoryMb/);
    expect(refusal({ concurrencyLimit: 65 })).toMatch(/"concurrencyLimit" is 65, over the server's limit of 64; .*limits\.maxWorkersPerFunction/);
    expect(refusal({ concurrencyLimit: 4, keepWarm: 5 })).toBe(
      'function Job.run: option "keepWarm" is 5, over its concurrencyLimit of 4; a function never runs more workers than its concurrencyLimit: lower keepWarm or raise concurrencyLimit',
    );
    expect(refusal(retries({ maxRetries: 11 }))).toMatch(/"retries\.maxRetries" is 11, over the server's limit of 10; .*limits\.maxRetries/);
    expect(refusal(retries({ initialDelayMs: 3_600_001 }))).toMatch(/"retries\.initialDelayMs" is 3600001 ms, over .*limits\.maxRetryDelayMs/);
    expect(refusal(retries({ maxDelayMs: 1e12 }))).toMatch(/"retries\.maxDelayMs" is 1000000000000 ms, over .*limits\.maxRetryDelayMs/);
    expect(refusal(retries({ backoffCoefficient: 1e6 }))).toMatch(/"retries\.backoffCoefficient" is 1000000, over 100/);
  });

  test("the server's configured limits hold, not the defaults", () => {
    expect(refusal({ timeout: 120 }, { ...DEFAULT_LIMITS, maxTimeoutSeconds: 60 })).toMatch(/"timeout" is 120 s, over the server's limit of 60 s/);
    expect(refusal({ timeout: 2 * 86_400 }, { ...DEFAULT_LIMITS, maxTimeoutSeconds: 7 * 86_400 })).toBe("accepted");
  });
});
